// A short memory of who a credential belongs to, so an authenticated request costs no query.
// Entries live `ttlMs` at most (the back-stop); revocation evicts them at once on this replica and,
// through AuthRevocations, on every other replica. Keyed by the credential's SHA-256, never by
// the credential itself.
import type { User } from "@optio/contracts";

export type CachedIdentity = {
  user: User;
  kind: "session" | "api_token";
  /** The session or API token row. */
  rowId: string;
  /** When the credential itself expires (null: never). */
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  /** When this entry must be re-read from the database. */
  staleAt: number;
};

export class IdentityCache {
  private readonly entries = new Map<string, CachedIdentity>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: { ttlMs: number; maxEntries?: number }) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  get(hash: string, now: number): CachedIdentity | undefined {
    const entry = this.entries.get(hash);
    if (entry && entry.staleAt > now) return entry;
    if (entry) this.entries.delete(hash);
    return undefined;
  }

  set(hash: string, entry: Omit<CachedIdentity, "staleAt">, now: number): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { ...entry, staleAt: now + this.ttlMs });
  }

  /** Forgets every credential of `userId`. */
  evictUser(userId: string): void {
    for (const [hash, entry] of this.entries) if (entry.user.id === userId) this.entries.delete(hash);
  }

  evict(hash: string): void {
    this.entries.delete(hash);
  }
}
