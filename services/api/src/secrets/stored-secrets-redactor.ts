// The redactor for stored run logs: every stored secret value plus OPTIO_LOG_SECRETS and well-known
// token shapes. Reloaded after a change through this API, and at most `maxAgeMs` after a change made
// through another replica.
import { Redactor } from "@optio/core";

export interface SecretValues {
  values(): Promise<string[]>;
}

export class StoredSecretsRedactor {
  private readonly secrets: SecretValues;
  private readonly base: Redactor;
  private readonly maxAgeMs: number;
  private cached: { redactor: Redactor; loadedAt: number } | null = null;
  private loading: { promise: Promise<Redactor>; generation: number } | null = null;
  private generation = 0;

  constructor(options: { secrets: SecretValues; extraValues?: string[]; maxAgeMs?: number }) {
    this.secrets = options.secrets;
    this.base = new Redactor(options.extraValues ?? []);
    this.maxAgeMs = options.maxAgeMs ?? 30_000;
  }

  /** Forget the loaded values (a secret was set or deleted). */
  invalidate(): void {
    this.generation++;
    this.cached = null;
  }

  async get(): Promise<Redactor> {
    if (this.cached && Date.now() - this.cached.loadedAt < this.maxAgeMs) return this.cached.redactor;
    // Join a load in flight unless a change happened after it started.
    if (this.loading?.generation !== this.generation) {
      const loading = { generation: this.generation, promise: this.load(this.generation) };
      this.loading = loading;
      // A failed load (Postgres unreachable) is its callers' to handle; this chain only forgets it,
      // and must not turn it into an unhandled rejection, which would end the process.
      loading.promise
        .finally(() => {
          if (this.loading === loading) this.loading = null;
        })
        .catch(() => {});
    }
    return this.loading.promise;
  }

  private async load(generation: number): Promise<Redactor> {
    const redactor = this.base.with(await this.secrets.values());
    // A change during the load: use what was read for this call, but load again next time.
    if (generation === this.generation) this.cached = { redactor, loadedAt: Date.now() };
    return redactor;
  }
}
