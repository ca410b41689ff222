// The one way API code reads a stored secret's value (the secret store implements it). A repo's own
// secret wins over the global one of the same name.

/** A secret's row as stored: its value encrypted (see secret-cipher.ts). */
export type StoredSecret = { id: string; name: string; scope: string; encrypted: string };

export interface SecretReader {
  /** The value of secret `name` for the repo (`repoId`), else the global one, else null. */
  resolve(name: string, repoId: string | null): Promise<string | null>;
  /**
   * A reader of what the repo can see (its own secrets and the global ones) read at once: for a
   * caller about to resolve several names for one repo (a claimed run), one read instead of one per
   * name. It answers only for that repo.
   */
  scope(repoId: string | null): Promise<SecretReader>;
  /**
   * The same reader over rows already read (`stored`: every secret the repo can see), for a caller
   * that read them with its own statement (the claim does).
   */
  scopeFrom(repoId: string | null, stored: readonly StoredSecret[]): SecretReader;
}
