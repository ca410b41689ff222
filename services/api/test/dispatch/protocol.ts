// A scripted runner speaking the wire protocol of @optio/contracts, for testing the API's side of
// dispatch without containers. The real runner is exercised by the end-to-end tests.
import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream } from "@nats-io/jetstream";
import {
  ClaimReply,
  RunnerHeartbeatReply,
  runReportMsgId,
  subjects,
  type RunReport,
  type RunSpec,
} from "@optio/contracts";

export class ScriptedRunner {
  private readonly seqs = new Map<string, number>();
  private readonly nonce = randomUUID();

  constructor(
    private readonly nats: NatsConnection,
    readonly runnerId: string,
    private readonly agentTypes: ("claude" | "codex" | "shell")[] = ["claude", "codex", "shell"],
    private readonly labels: string[] = [],
  ) {}

  info() {
    return {
      runnerId: this.runnerId,
      host: "test-host",
      version: "test",
      driver: "local" as const,
      isolated: false,
      slots: { total: 4, busy: 0 },
      agentTypes: this.agentTypes,
      labels: this.labels,
      startedAt: new Date().toISOString(),
    };
  }

  /** A claim as runners without batches send it: one run at most, read from `run`. */
  async claim(claimId?: string, freeSlots = 1): Promise<RunSpec | null> {
    return (await this.request({ claimId, freeSlots })).run;
  }

  /** A batch claim: up to `freeSlots` runs in `runs`. */
  async claimBatch(freeSlots: number, claimId?: string): Promise<RunSpec[]> {
    return (await this.request({ claimId, freeSlots, batch: true })).runs;
  }

  private async request(fields: { claimId?: string; freeSlots: number; batch?: boolean }) {
    const reply = await this.nats.request(
      subjects.runnerClaim(this.runnerId),
      JSON.stringify({
        runnerId: this.runnerId,
        agentTypes: this.agentTypes,
        labels: this.labels,
        ...fields,
      }),
      { timeout: 5_000 },
    );
    return ClaimReply.parse(reply.json());
  }

  async heartbeat(runs: { runId: string; attempt: number }[]) {
    const reply = await this.nats.request(
      subjects.runnerHeartbeat(this.runnerId),
      JSON.stringify({ ...this.info(), time: new Date().toISOString(), runs, stopping: false }),
      { timeout: 5_000 },
    );
    return RunnerHeartbeatReply.parse(reply.json());
  }

  announce(): void {
    this.nats.publish(
      subjects.runnerAnnounce(this.runnerId),
      JSON.stringify({ ...this.info(), time: new Date().toISOString() }),
    );
  }

  /** Publishes a report with the next sequence number of that run (or an explicit one). */
  async report(
    spec: { runId: string; taskId: string; attempt: number },
    body: DistributiveOmit,
    seq?: number,
  ) {
    const key = `${spec.runId}:${spec.attempt}`;
    const next = seq ?? (this.seqs.get(key) ?? 0) + 1;
    this.seqs.set(key, Math.max(next, this.seqs.get(key) ?? 0));
    const report = {
      ...body,
      runId: spec.runId,
      taskId: spec.taskId,
      attempt: spec.attempt,
      seq: next,
      runnerId: this.runnerId,
      time: new Date().toISOString(),
    } as RunReport;
    await jetstream(this.nats).publish(
      subjects.runReport(this.runnerId, spec.runId, report.kind),
      JSON.stringify(report),
      { msgID: runReportMsgId(report, this.nonce) },
    );
    return report;
  }
}

type Base = "runId" | "taskId" | "attempt" | "seq" | "runnerId" | "time";
type DistributiveOmit = RunReport extends infer R ? (R extends RunReport ? Omit<R, Base> : never) : never;

export const started = { kind: "started", containerId: "c1", driver: "local", image: "img" } as const;
export const resultOk = {
  kind: "result",
  exitCode: 0,
  branch: "optio/x",
  pushed: true,
  commits: 1,
  headSha: "abc",
  sessionId: "sess-1",
  model: "m",
  costUsd: 0.25,
  inputTokens: 100,
  outputTokens: 50,
  error: null,
} as const;
export const exited = {
  kind: "exited",
  exitCode: 0,
  reason: "completed",
  oomKilled: false,
  durationMs: 10,
  error: null,
} as const;
