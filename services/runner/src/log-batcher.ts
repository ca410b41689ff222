// Groups a run's log lines into batches and numbers them. Leading-edge: a line arriving after a
// quiet period goes out at once (the first output line reaches the API without delay); lines that
// follow within maxDelayMs are batched (≤ maxLines, ≤ maxBytes).
import type { LogLine } from "@optio/contracts";

export type PendingLine = Omit<LogLine, "n">;

export class LogBatcher {
  private n = 0;
  private batch: LogLine[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;

  /** maxBytes keeps a batch well under NATS's max_payload (1 MB by default). */
  constructor(
    private readonly opts: {
      maxLines: number;
      maxDelayMs: number;
      maxBytes?: number;
      flush: (lines: LogLine[]) => void;
    },
  ) {}

  get count(): number {
    return this.n;
  }

  add(line: PendingLine): void {
    this.batch.push({ ...line, n: ++this.n });
    this.bytes += line.content.length + (line.data ? JSON.stringify(line.data).length : 0) + 100;
    if (this.batch.length >= this.opts.maxLines || this.bytes >= (this.opts.maxBytes ?? 256 * 1024))
      return this.flush();
    if (this.timer) return;
    const wait = this.lastFlush + this.opts.maxDelayMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    this.bytes = 0;
    this.lastFlush = Date.now();
    this.opts.flush(lines);
  }
}
