// Background work keyed by name, one run at a time per key: a request while one runs makes it run
// once more after it, with the latest request's argument (requests meanwhile coalesce). Used for
// the repo cache's checkout packs and the workspace snapshots, both rebuilt after runs.

export class KeyedBackground<A> {
  private readonly runs = new Map<string, { next: { arg: A } | null; done: Promise<void> }>();
  private closing = false;

  constructor(
    private readonly opts: {
      /** The work; it handles its own errors (a rejection is dropped). */
      work: (key: string, arg: A) => Promise<void>;
      /** After a key's last run, once it is no longer running. */
      idle?: (key: string) => void;
    },
  ) {}

  request(key: string, arg: A): void {
    if (this.closing) return;
    const running = this.runs.get(key);
    if (running) {
      running.next = { arg };
      return;
    }
    const entry = { next: { arg } as { arg: A } | null, done: Promise.resolve() };
    this.runs.set(key, entry);
    entry.done = (async () => {
      for (let wanted = entry.next; wanted !== null && !this.closing; wanted = entry.next) {
        entry.next = null;
        await this.opts.work(key, wanted.arg).catch(() => {});
      }
      this.runs.delete(key);
      this.opts.idle?.(key);
    })();
  }

  /** Whether work for the key is under way. */
  has(key: string): boolean {
    return this.runs.has(key);
  }

  /** Resolves when the key's work under way (if any) has ended. */
  async ended(key: string): Promise<void> {
    await this.runs.get(key)?.done;
  }

  /** Resolves when no work is under way. */
  async settled(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs.values()].map((run) => run.done));
  }

  /** Lets the work under way finish (no rerun); starts none. */
  async close(): Promise<void> {
    this.closing = true;
    await this.settled();
  }
}
