// Groups a run's log lines into batches (≤ maxLines, or after maxDelayMs) and numbers them.
import type { LogLine } from "@optio/contracts";

export type PendingLine = Omit<LogLine, "n">;

export class LogBatcher {
  private n = 0;
  private batch: LogLine[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

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
      this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.maxDelayMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    this.bytes = 0;
    this.opts.flush(lines);
  }
}
