// Sends one run attempt's reports to JetStream, in order, each exactly once: a per-attempt sequence
// number, and the message id `<runId>:<attempt>:<seq>:<nonce>` so a retry after a lost ack
// deduplicates (the nonce, random per reporter, keeps other runners from guessing the ids).
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { RunReport, runReportMsgId, subjects, type RunReportKind } from "@optio/contracts";

/** Publishes one message and resolves once the stream has stored it. */
export type ReportSink = (subject: string, payload: string, msgId: string) => Promise<void>;

export interface ReportIds {
  runId: string;
  taskId: string;
  attempt: number;
  runnerId: string;
}

/** Distributes Omit over a union, keeping each member's own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ReportBody = DistributiveOmit<RunReport, keyof ReportIds | "seq" | "time">;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RunReporter {
  private seq = 0;
  private readonly nonce = randomUUID();
  private tail: Promise<void> = Promise.resolve();
  private abandoned = false;
  private unsent = 0;

  constructor(
    private readonly opts: { sink: ReportSink; ids: ReportIds; logger: Logger; now?: () => Date },
  ) {}

  /** Queues a report; the returned promise resolves when it (and all before it) are stored. */
  send(body: ReportBody): Promise<void> {
    const parsed = RunReport.safeParse({
      ...body,
      ...this.opts.ids,
      seq: this.seq + 1,
      time: (this.opts.now?.() ?? new Date()).toISOString(),
    });
    if (!parsed.success) {
      // A bug, never expected: drop it (keeping the sequence gapless) rather than crash the run.
      this.opts.logger.error({ issues: parsed.error.issues, kind: body.kind }, "invalid run report dropped");
      return this.tail;
    }
    this.seq++;
    const report = parsed.data;
    const subject = subjects.runReport(report.runnerId, report.runId, report.kind as RunReportKind);
    const payload = JSON.stringify(report);
    const msgId = runReportMsgId(report, this.nonce);
    this.unsent++;
    this.tail = this.tail
      .then(() => this.publish(subject, payload, msgId, report.kind))
      .finally(() => this.unsent--);
    return this.tail;
  }

  /** Reports queued and not yet stored in JetStream. */
  get pending(): number {
    return this.unsent;
  }

  /** Resolves when every queued report is stored (or abandoned). */
  flushed(): Promise<void> {
    return this.tail;
  }

  /** Stops retrying (shutdown deadline): unsent reports are left to the API's lease expiry. */
  abandon(): void {
    this.abandoned = true;
  }

  private async publish(subject: string, payload: string, msgId: string, kind: string): Promise<void> {
    for (let attempt = 0; !this.abandoned; attempt++) {
      try {
        await this.opts.sink(subject, payload, msgId);
        return;
      } catch (error) {
        // NATS down or JetStream unavailable: keep the report and retry; the id deduplicates.
        if (attempt === 0 || attempt % 20 === 0)
          this.opts.logger.warn({ err: error, kind, msgId, attempt }, "run report not stored yet; retrying");
        await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }
}
