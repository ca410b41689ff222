// A SecretReader over fixed values (global, or per repo id): for tests, and for wiring before the
// encrypted secret store is connected.
import type { SecretReader } from "./secret-reader";

export class StaticSecretReader implements SecretReader {
  constructor(
    private readonly global: Record<string, string> = {},
    private readonly perRepo: Record<string, Record<string, string>> = {},
  ) {}

  async resolve(name: string, repoId: string | null): Promise<string | null> {
    return (repoId ? this.perRepo[repoId]?.[name] : undefined) ?? this.global[name] ?? null;
  }

  async scope(): Promise<SecretReader> {
    return this;
  }

  /** Holds no rows: what it answers are its fixed values, whatever was read. */
  scopeFrom(): SecretReader {
    return this;
  }
}
