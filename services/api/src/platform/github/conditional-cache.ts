// ETag-conditional GETs: the last representation of each URL is kept with its ETag and the next
// request sends `If-None-Match`; GitHub answers 304 (free of rate limit) when nothing changed.
// Octokit throws on a 304, so it is caught here and the kept data returned.
import type { GitHubOctokit } from "./octokit-client";

type Entry = { etag: string; data: unknown };

export class ConditionalCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 20_000) {}

  get(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Re-insert: Map order doubles as least-recently-used order.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

const isNotModified = (error: unknown) => (error as { status?: number } | null)?.status === 304;

/** GET `route` conditionally; `changed` is false when the platform answered 304. */
export async function conditionalGet<T>(
  octokit: GitHubOctokit,
  cache: ConditionalCache,
  route: string,
  params: Record<string, string | number>,
): Promise<{ data: T; changed: boolean }> {
  const key = `${route} ${JSON.stringify(params)}`;
  const cached = cache.get(key);
  try {
    const response = await octokit.request(route, {
      ...params,
      headers: cached ? { "if-none-match": cached.etag } : {},
    });
    const etag = response.headers.etag;
    if (etag) cache.set(key, { etag, data: response.data });
    return { data: response.data as T, changed: true };
  } catch (error) {
    if (cached && isNotModified(error)) return { data: cached.data as T, changed: false };
    throw error;
  }
}
