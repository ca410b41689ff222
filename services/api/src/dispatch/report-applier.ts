// Applies runner reports (JetStream `optio.run.<runId>.<kind>`) to runs and tasks. Each report is
// applied once and in order (per-attempt sequence numbers); a report naming a superseded attempt is
// refused so its runner stops the container (fencing).
import { decideRunOutcome, type RunOutcome } from "@optio/core";
import type { RunExited, RunReport, RunResult } from "@optio/contracts";
import { Prisma } from "../generated/prisma/client";
import type { Run } from "../generated/prisma/client";
import type { Actor, TaskMachine, Work } from "../tasks/task-machine";
import type { TaskUnitOfWork } from "../tasks/task-work";
import type { StoredSecretsRedactor } from "../secrets/stored-secrets-redactor";

/**
 * applied: done; duplicate: seen before; early: an earlier report is missing (retry later);
 * stale: a superseded attempt, fenced; cancelled: the run was cancelled, its runner is told to stop.
 */
export type ApplyResult = "applied" | "duplicate" | "early" | "stale" | "cancelled";

const OPEN = ["provisioning", "running"] as const;

/** The columns of a run the applier reads, locked for the report's transaction. */
type LockedRun = Pick<Run, "id" | "taskId" | "attempt" | "state" | "lastReportSeq" | "runnerId">;

export class ReportApplier {
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;
  private readonly leaseMs: number;
  private readonly redaction: Pick<StoredSecretsRedactor, "get">;

  constructor(options: {
    machine: TaskMachine;
    work: TaskUnitOfWork;
    leaseMs: number;
    /** Scrubs every string of a report (log lines, error messages) before anything is stored. */
    redaction: Pick<StoredSecretsRedactor, "get">;
  }) {
    this.machine = options.machine;
    this.work = options.work;
    this.leaseMs = options.leaseMs;
    this.redaction = options.redaction;
  }

  async apply(received: RunReport): Promise<ApplyResult> {
    const report = (await this.redaction.get()).redactDeep(received);
    return this.work.run(async (work) => {
      // A report that may move the task locks it before the run: the order every user action and
      // claim takes, so a cancel and a result are serialised instead of deadlocking.
      if (report.kind !== "log") await this.machine.lock(work.tx, report.taskId);
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
      if (!open) return this.afterClose(work, run, report);
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

  /**
   * A report for a run that is already closed moves nothing. A cancelled run's result is still
   * recorded on the run (what it pushed, what it cost); a run that claims to be alive (started,
   * heartbeat) is fenced so its runner stops it; its exit is news to no one.
   */
  private async afterClose(work: Work, run: LockedRun, report: RunReport): Promise<ApplyResult> {
    if (report.kind === "exited") return "applied";
    if (run.state === "cancelled" && report.kind === "result") {
      await work.tx.run.update({ where: { id: run.id }, data: resultColumns(report) });
      return "applied";
    }
    return run.state === "cancelled" ? "cancelled" : "stale";
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
        content: line.content,
        data: line.data as object | undefined,
        createdAt: new Date(line.time),
      })),
      skipDuplicates: true,
    });
  }

  /** A result (or an exit without one) closes the run and moves the task on. */
  private async finish(work: Work, run: LockedRun, report: RunResult | RunExited, actor: Actor) {
    const task = await work.tx.task.findUniqueOrThrow({ where: { id: run.taskId } });
    const outcome = decideRunOutcome(factsOf(report), run.attempt, task.maxAttempts);
    const result = report.kind === "result" ? report : null;
    await work.tx.run.update({
      where: { id: run.id },
      data: {
        state: outcome.run,
        finishedAt: new Date(report.time),
        exitCode: report.exitCode,
        errorCode: outcome.errorCode,
        error: outcome.message,
        leaseExpiresAt: null,
        ...(result && resultColumns(result)),
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

/** What a result records on its run, whatever becomes of the task. */
function resultColumns(result: RunResult) {
  return {
    exitCode: result.exitCode,
    branch: result.pushed ? result.branch : null,
    sessionId: result.sessionId,
    model: result.model,
    costUsd: result.costUsd,
    inputTokens: result.inputTokens,
    outputTokens: result.outputTokens,
  };
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
