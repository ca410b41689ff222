// The secret store: values encrypted at rest (SecretCipher), names/scopes/timestamps readable, values
// read only through resolve() (for claims) and values() (for the log redactor). Changes are announced
// through the outbox with names and scopes only.
import type { z } from "zod";
import type { SecretDeletedEvent, SecretInfo, SecretSetEvent, SetSecretBody } from "@optio/contracts";
import type { PrismaClient, Tx } from "../db/prisma";
import { invalidField, notFound } from "../errors";
import type { Outbox } from "../events/outbox";
import type { Secret as SecretRow } from "../generated/prisma/client";
import type { SecretCipher } from "./secret-cipher";
import type { SecretReader, StoredSecret } from "./secret-reader";

export const GLOBAL_SCOPE = "global";

const toInfo = (row: SecretRow): SecretInfo => ({
  name: row.name,
  scope: row.scope,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** The additional data bound to a ciphertext: a value only decrypts on its own row. */
const context = (row: Pick<StoredSecret, "name" | "scope">) => `${row.name}/${row.scope}`;

export class SecretStore implements SecretReader {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;
  private readonly cipher: SecretCipher;
  private readonly listeners: (() => void)[] = [];

  constructor(options: { prisma: PrismaClient; outbox: Outbox; cipher: SecretCipher }) {
    this.prisma = options.prisma;
    this.outbox = options.outbox;
    this.cipher = options.cipher;
  }

  /** Called after every committed change (the log redactor reloads the values). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Creates or replaces the secret `name` in `scope`. */
  async set(input: SetSecretBody, actorId: string): Promise<SecretInfo> {
    const { name, scope } = input;
    const repoId = scope === GLOBAL_SCOPE ? null : scope;
    const encrypted = this.cipher.encrypt(input.value, context({ name, scope }));
    const info = await this.outbox.transaction(async (tx) => {
      if (repoId && !(await tx.repo.findUnique({ where: { id: repoId }, select: { id: true } })))
        throw invalidField("body.scope", "no connected repo has this id");
      const existing = await tx.secret.findUnique({ where: { name_scope: { name, scope } } });
      const row = await tx.secret.upsert({
        where: { name_scope: { name, scope } },
        create: { name, scope, repoId, encrypted, createdBy: actorId },
        update: { encrypted },
      });
      const data: z.input<typeof SecretSetEvent> = {
        secretId: row.id,
        name,
        scope,
        created: !existing,
        actorId,
      };
      await this.outbox.record(tx, { entity: "secret", entityId: row.id, event: "set", data });
      return toInfo(row);
    });
    this.changed();
    return info;
  }

  async list(filter: { scope?: string } = {}): Promise<{ secrets: SecretInfo[]; total: number }> {
    const rows = await this.prisma.secret.findMany({
      where: filter.scope ? { scope: filter.scope } : {},
      orderBy: [{ name: "asc" }, { scope: "asc" }],
    });
    return { secrets: rows.map(toInfo), total: rows.length };
  }

  async delete(name: string, scope: string, actorId: string): Promise<void> {
    await this.outbox.transaction(async (tx: Tx) => {
      const row = await tx.secret.findUnique({ where: { name_scope: { name, scope } } });
      if (!row) throw notFound("SECRET_NOT_FOUND", "Secret not found");
      await tx.secret.delete({ where: { id: row.id } });
      const data: z.input<typeof SecretDeletedEvent> = { secretId: row.id, name, scope, actorId };
      await this.outbox.record(tx, { entity: "secret", entityId: row.id, event: "deleted", data });
    });
    this.changed();
  }

  /** Names stored in any scope (setup status: which credentials exist). */
  async names(): Promise<Set<string>> {
    const rows = await this.prisma.secret.findMany({ distinct: ["name"], select: { name: true } });
    return new Set(rows.map((row) => row.name));
  }

  async resolve(name: string, repoId: string | null): Promise<string | null> {
    return (await this.scope(repoId)).resolve(name, repoId);
  }

  async scope(repoId: string | null): Promise<SecretReader> {
    const rows = await this.prisma.secret.findMany({
      where: { scope: { in: repoId ? [repoId, GLOBAL_SCOPE] : [GLOBAL_SCOPE] } },
    });
    return this.scopeFrom(repoId, rows);
  }

  scopeFrom(repoId: string | null, stored: readonly StoredSecret[]): SecretReader {
    const scoped: SecretReader = {
      resolve: async (name, asked) => {
        if (asked !== repoId) throw new Error("a scoped secret reader answers only for its own repo");
        const row =
          // Scopes matched exactly, not trusted from the caller's read: a row of another repo is never used.
          stored.find((r) => r.name === name && repoId !== null && r.scope === repoId) ??
          stored.find((r) => r.name === name && r.scope === GLOBAL_SCOPE);
        return row ? this.read(row) : null;
      },
      scope: async (other) => (other === repoId ? scoped : this.scope(other)),
      scopeFrom: (other, rows) => this.scopeFrom(other, rows),
    };
    return scoped;
  }

  /**
   * Every readable stored value, for scrubbing stored logs. A value this API cannot decrypt (a key
   * it does not hold) cannot have reached a run from here, so it is skipped rather than stopping logs.
   */
  async values(): Promise<string[]> {
    const rows = await this.prisma.secret.findMany();
    const read = await Promise.allSettled(rows.map((row) => this.read(row)));
    return read.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  }

  /** Decrypts; a value still under the previous key is written again under the current one. */
  private async read(row: StoredSecret): Promise<string> {
    const { value, stale } = this.cipher.decrypt(row.encrypted, context(row));
    if (stale) {
      // Compare-and-set: a concurrent set() wins; updated_at stays (the value did not change).
      const encrypted = this.cipher.encrypt(value, context(row));
      await this.prisma.$executeRaw`
        UPDATE secrets SET encrypted = ${encrypted} WHERE id = ${row.id}::uuid AND encrypted = ${row.encrypted}`;
    }
    return value;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
