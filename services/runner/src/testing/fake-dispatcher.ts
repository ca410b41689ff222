// TEST ONLY. Plays the API's side of the runner wire: answers claims from a queue of run specs,
// answers heartbeats (optionally with stop directives), and records every run report. It answers
// every claim on its connection, so give it a NATS of its own (privateNats), never the shared one.
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import {
  ClaimRequest,
  RunnerHeartbeat,
  RunReport,
  RunReportKind,
  subjects,
  type RunnerHeartbeatReply,
  type RunReport as RunReportType,
  type RunSpec,
} from "@optio/contracts";

export class FakeDispatcher {
  readonly queue: RunSpec[] = [];
  readonly claims: ClaimRequest[] = [];
  readonly heartbeats: RunnerHeartbeat[] = [];
  readonly reports = new Map<string, RunReportType[]>();
  stopDirectives: RunnerHeartbeatReply["stop"] = [];
  private readonly subs: Subscription[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly nc: NatsConnection) {
    this.subs.push(
      nc.subscribe(subjects.runnerClaim("*"), {
        callback: (_, msg) => {
          this.claims.push(ClaimRequest.parse(msg.json()));
          msg.respond(JSON.stringify({ run: this.queue.shift() ?? null }));
        },
      }),
      nc.subscribe(subjects.runnerHeartbeat("*"), {
        callback: (_, msg) => {
          this.heartbeats.push(RunnerHeartbeat.parse(msg.json()));
          msg.respond(JSON.stringify({ stop: this.stopDirectives }));
        },
      }),
      nc.subscribe(subjects.runReport("*", "*", "*"), {
        callback: (_, msg) => {
          // The same wildcard matches the runners' commands (cancel, message): reports only.
          if (!RunReportKind.safeParse(msg.subject.split(".").pop()).success) return;
          const report = RunReport.parse(msg.json());
          const list = this.reports.get(report.runId) ?? [];
          if (!list.some((r) => r.seq === report.seq)) list.push(report); // a retried publish
          list.sort((a, b) => a.seq - b.seq);
          this.reports.set(report.runId, list);
          for (const w of this.waiters.splice(0)) w();
        },
      }),
    );
  }

  reportsOf(runId: string): RunReportType[] {
    return this.reports.get(runId) ?? [];
  }

  /** Resolves when `predicate` holds for the run's reports. */
  async until(
    runId: string,
    predicate: (reports: RunReportType[]) => boolean,
    timeoutMs = 60_000,
  ): Promise<RunReportType[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.reportsOf(runId))) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out; reports: ${this.reportsOf(runId)
            .map((r) => r.kind)
            .join(",")}`,
        );
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.reportsOf(runId);
  }

  exited(runId: string, timeoutMs?: number) {
    return this.until(runId, (r) => r.some((x) => x.kind === "exited"), timeoutMs);
  }

  close(): void {
    for (const sub of this.subs) sub.unsubscribe();
  }
}
