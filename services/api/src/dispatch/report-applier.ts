// Applies runner reports (JetStream `optio.run.<runId>.<kind>`) to runs and tasks. Each report is
// applied once and in order (per-attempt sequence numbers); a report naming a superseded attempt is
// refused so its runner stops the container (fencing).
import { decideRunOutcome, type RunOutcome } from "@optio/core";
import type { ReviewVerdict, RunExited, RunReport, RunResult } from "@optio/contracts";
import { Prisma } from "../generated/prisma/client";
import type { Run, Task as TaskRow } from "../generated/prisma/client";
import type { Actor, TaskMachine, Work } from "../tasks/task-machine";
import type { TaskUnitOfWork } from "../tasks/task-work";
import type { SecretRedactor } from "./secret-redactor";

/** Told, inside the report's transaction, how a review subtask ended: its verdict, or null (failed). */
export type ReviewListener = (work: Work, review: TaskRow, verdict: ReviewVerdict | null) => Promise<void>;

/** applied: done; duplicate: seen before; early: an earlier report is missing (retry later); stale: fenced. */
export type ApplyResult = "applied" | "duplicate" | "early" | "stale";

const OPEN = ["provisioning", "running"] as const;

/** The columns of a run the applier reads, locked for the report's transaction. */
type LockedRun = Pick<Run, "id" | "taskId" | "attempt" | "state" | "lastReportSeq" | "runnerId">;

export class ReportApplier {
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;
  private readonly leaseMs: number;
  private readonly redactor: SecretRedactor;
  private readonly onReview: ReviewListener | undefined;

  constructor(options: {
    machine: TaskMachine;
    work: TaskUnitOfWork;
    leaseMs: number;
    redactor: SecretRedactor;
    onReview?: ReviewListener;
  }) {
    this.onReview = options.onReview;
    this.machine = options.machine;
    this.work = options.work;
    this.leaseMs = options.leaseMs;
    this.redactor = options.redactor;
  }

  async apply(report: RunReport): Promise<ApplyResult> {
    return this.work.run(async (work) => {
      const [run] = await work.tx.$queryRaw<LockedRun[]>`
        SELECT id, task_id AS "taskId", attempt, state, last_report_seq AS "lastReportSeq", runner_id AS "runnerId"
          FROM runs WHERE id = ${report.runId}::uuid FOR UPDATE`;
      if (!run || run.attempt !== report.attempt || run.taskId !== report.taskId) return "stale";
      if (report.seq <= run.lastReportSeq) return "duplicate";
      if (report.seq > run.lastReportSeq + 1) return "early";
      await work.tx.run.update({ where: { id: run.id }, data: { lastReportSeq: report.seq } });

      if (report.kind === "log") {
        // Logs of a closed run (e.g. the last lines after a cancel) are still worth keeping.
        await this.storeLogs(work, report);
        return "applied";
      }
      const open = (OPEN as readonly string[]).includes(run.state);
      // A closed run: its exit is news to no one; anything else from a superseded attempt is fenced.
      if (!open) return report.kind === "exited" || run.state === "cancelled" ? "applied" : "stale";
      const actor: Actor = { kind: "runner", runnerId: report.runnerId };
      switch (report.kind) {
        case "started":
          await work.tx.run.update({
            where: { id: run.id },
            data: {
              state: "running",
              startedAt: new Date(report.time),
              containerId: report.containerId,
              ...this.lease(),
            },
          });
          await this.machine.transition(work, {
            taskId: run.taskId,
            to: "running",
            trigger: "run_started",
            accepted: ["provisioning"],
            actor,
            runId: run.id,
          });
          break;
        case "heartbeat":
          await work.tx.run.update({ where: { id: run.id }, data: this.lease() });
          break;
        case "result":
          await this.finish(work, run, report, actor);
          break;
        case "exited":
          await this.finish(work, run, report, actor);
          break;
      }
      return "applied";
    });
  }

  private lease() {
    return { leaseExpiresAt: new Date(Date.now() + this.leaseMs) };
  }

  private async storeLogs(work: Work, report: Extract<RunReport, { kind: "log" }>) {
    await work.tx.taskLog.createMany({
      data: report.lines.map((line) => ({
        runId: report.runId,
        taskId: report.taskId,
        seq: line.n,
        stream: line.stream,
        type: line.type,
        content: this.redactor.redact(line.content),
        data: line.data ? (JSON.parse(this.redactor.redact(JSON.stringify(line.data))) as object) : undefined,
        createdAt: new Date(line.time),
      })),
      skipDuplicates: true,
    });
  }

  /** A result (or an exit without one) closes the run and moves the task on. */
  private async finish(work: Work, run: LockedRun, report: RunResult | RunExited, actor: Actor) {
    const task = await work.tx.task.findUniqueOrThrow({ where: { id: run.taskId } });
    const result = report.kind === "result" ? report : null;
    const readOnly = task.taskType === "review";
    const facts = { ...factsOf(report), readOnly, review: result?.review ?? null };
    const outcome = decideRunOutcome(facts, run.attempt, task.maxAttempts);
    await work.tx.run.update({
      where: { id: run.id },
      data: {
        state: outcome.run,
        finishedAt: new Date(report.time),
        exitCode: report.exitCode,
        errorCode: outcome.errorCode,
        error: outcome.message,
        leaseExpiresAt: null,
        ...(result && {
          branch: result.pushed ? result.branch : null,
          sessionId: result.sessionId,
          model: result.model,
          costUsd: result.costUsd,
          inputTokens: result.inputTokens,
          outputTokens: result.outputTokens,
        }),
      },
    });
    await work.tx.task.update({
      where: { id: task.id },
      data: {
        ...(result?.pushed && { branchName: result.branch }),
        ...(result?.sessionId && { sessionId: result.sessionId }),
        ...(result && {
          costUsd: { increment: new Prisma.Decimal(result.costUsd ?? 0) },
          inputTokens: { increment: result.inputTokens ?? 0 },
          outputTokens: { increment: result.outputTokens ?? 0 },
        }),
      },
    });
    await this.moveTask(work, run, outcome, actor);
    if (readOnly && task.parentId)
      await this.onReview?.(work, task, outcome.run === "succeeded" ? facts.review : null);
  }

  private async moveTask(work: Work, run: LockedRun, outcome: RunOutcome, actor: Actor) {
    await this.machine.transition(work, {
      taskId: run.taskId,
      to: outcome.task,
      trigger: outcome.trigger,
      message: outcome.message,
      accepted: ["provisioning", "running"],
      actor,
      runId: run.id,
      ...(outcome.task === "queued" && { newRun: { kind: "retry" as const } }),
    });
  }
}

/** What the outcome decision needs from a result, or from an exit that came without one. */
function factsOf(report: RunResult | RunExited) {
  if (report.kind === "result") {
    return { exitCode: report.exitCode, pushed: report.pushed, commits: report.commits, error: report.error };
  }
  const error =
    report.error ??
    (report.oomKilled
      ? { code: "OOM_KILLED", message: "The container ran out of memory" }
      : report.reason === "timeout"
        ? { code: "RUN_TIMEOUT", message: "The run exceeded the repo's runTimeoutSeconds" }
        : report.reason === "shutdown"
          ? { code: "RUNNER_SHUTDOWN", message: "The runner shut down before the run finished" }
          : {
              code: "AGENT_NO_OUTPUT",
              message: `The run exited (${report.reason}, code ${report.exitCode}) without a result`,
            });
  return { exitCode: report.exitCode, pushed: false, commits: 0, error };
}
