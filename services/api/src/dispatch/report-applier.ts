// Applies runner reports (JetStream `optio.runner.<runnerId>.run.<runId>.<kind>`) to runs and tasks.
// Each report is applied once and in order (per-attempt sequence numbers); a report naming a
// superseded attempt, or sent by a runner that does not hold the run, is refused so its runner stops
// the container (fencing). A result's usage is added to its task, and to the day's spend rows the
// daily budget reads (budgets/spend.store.ts), in the same transaction.
import { decideRunOutcome, errorOfBareExit, type RunOutcome } from "@optio/core";
import type { ReviewVerdict, RunExited, RunReport, RunResult } from "@optio/contracts";
import { Prisma } from "../generated/prisma/client";
import type { Run, Task as TaskRow } from "../generated/prisma/client";
import type { Actor, TaskMachine, Work } from "../tasks/task-machine";
import type { TaskUnitOfWork } from "../tasks/task-work";
import type { StoredSecretsRedactor } from "../secrets/stored-secrets-redactor";
import type { PlatformHosts } from "../platform/platform-hosts";
import type { SideEffectStore } from "../side-effects/side-effect.store";
import { openPrPurpose, type OpenPrInput } from "../side-effects/pr-opener";
import { LEASED_RUN_STATES, runStore } from "../runs/run.store";
import { spendStore, utcDay } from "../budgets/spend.store";

/** Told, inside the report's transaction, how a review subtask ended: its verdict, or null (failed). */
export type ReviewListener = (work: Work, review: TaskRow, verdict: ReviewVerdict | null) => Promise<void>;

/**
 * applied: done; duplicate: seen before; early: an earlier report is missing (retry later);
 * stale: a superseded attempt, fenced; cancelled: the run was cancelled, its runner is told to stop.
 */
export type ApplyResult = "applied" | "duplicate" | "early" | "stale" | "cancelled";

/** The columns of a run the applier reads, locked for the report's transaction. */
type LockedRun = Pick<Run, "id" | "taskId" | "attempt" | "state" | "lastReportSeq" | "runnerId">;

export class ReportApplier {
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;
  private readonly leaseMs: number;
  private readonly redaction: Pick<StoredSecretsRedactor, "get">;
  private readonly pullRequests: ReportApplierOptions["pullRequests"];
  private readonly onReview: ReviewListener | undefined;

  constructor(options: ReportApplierOptions) {
    this.onReview = options.onReview;
    this.machine = options.machine;
    this.work = options.work;
    this.leaseMs = options.leaseMs;
    this.redaction = options.redaction;
    this.pullRequests = options.pullRequests;
  }

  async apply(received: RunReport): Promise<ApplyResult> {
    const report = (await this.redaction.get()).redactDeep(received);
    let prWanted = false;
    const result = await this.work.run(async (work) => {
      const applied = await this.applyIn(work, report);
      prWanted = applied === "pr_wanted";
      return applied === "pr_wanted" ? "applied" : applied;
    });
    // After commit, so the side-effect worker sees the row.
    if (prWanted) this.pullRequests?.poke();
    return result;
  }

  private async applyIn(work: Work, report: RunReport): Promise<ApplyResult | "pr_wanted"> {
    // A report that may move the task locks it before the run: the order every user action and
    // claim takes, so a cancel and a result are serialised instead of deadlocking.
    if (report.kind !== "log") await this.machine.lock(work.tx, report.taskId);
    const [run] = await work.tx.$queryRaw<LockedRun[]>`
        SELECT id, task_id AS "taskId", attempt, state, last_report_seq AS "lastReportSeq", runner_id AS "runnerId"
          FROM runs WHERE id = ${report.runId}::uuid FOR UPDATE`;
    if (!run || run.attempt !== report.attempt || run.taskId !== report.taskId) return "stale";
    // Only the runner holding the attempt reports on it (its identity is checked by NATS and by the
    // dispatch server against the report's subject).
    if (run.runnerId !== report.runnerId) return "stale";
    if (report.seq <= run.lastReportSeq) return "duplicate";
    if (report.seq > run.lastReportSeq + 1) return "early";
    await runStore.advanceReportSeq(work.tx, run.id, report.seq);

    if (report.kind === "log") {
      // Logs of a closed run (e.g. the last lines after a cancel) are still worth keeping.
      await this.storeLogs(work, report);
      return "applied";
    }
    const open = (LEASED_RUN_STATES as readonly string[]).includes(run.state);
    if (!open) return this.afterClose(work, run, report);
    const actor: Actor = { kind: "runner", runnerId: report.runnerId };
    switch (report.kind) {
      case "started":
        await runStore.started(work.tx, run.id, {
          at: new Date(report.time),
          containerId: report.containerId,
          leaseExpiresAt: this.leaseEnd(),
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
        await runStore.renewLease(work.tx, run.id, this.leaseEnd());
        break;
      case "result":
      case "exited":
        return this.finish(work, run, report, actor);
    }
    return "applied";
  }

  /**
   * A report for a run that is already closed moves nothing. A cancelled run's result is still
   * recorded on the run (what it pushed, what it cost); a run that claims to be alive (started,
   * heartbeat) is fenced so its runner stops it; its exit is news to no one.
   */
  private async afterClose(work: Work, run: LockedRun, report: RunReport): Promise<ApplyResult> {
    if (report.kind === "exited") return "applied";
    if (run.state === "cancelled" && report.kind === "result") {
      await runStore.recordLateResult(work.tx, run.id, report);
      const task = await work.tx.task.findUniqueOrThrow({
        where: { id: run.taskId },
        select: { repoUrl: true, agentType: true },
      });
      await recordSpend(work, task, report); // it was spent all the same
      return "applied";
    }
    return run.state === "cancelled" ? "cancelled" : "stale";
  }

  private leaseEnd(): Date {
    return new Date(Date.now() + this.leaseMs);
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
  private async finish(
    work: Work,
    run: LockedRun,
    report: RunResult | RunExited,
    actor: Actor,
  ): Promise<"applied" | "pr_wanted"> {
    const task = await work.tx.task.findUniqueOrThrow({ where: { id: run.taskId } });
    const onPlatform = Boolean(this.pullRequests?.hosts.locate(task.repoUrl));
    const result = report.kind === "result" ? report : null;
    const readOnly = task.taskType === "review";
    const facts = { ...factsOf(report), onPlatform, readOnly, review: result?.review ?? null };
    const outcome = decideRunOutcome(facts, run.attempt, task.maxAttempts);
    await runStore.finish(work.tx, run.id, {
      state: outcome.run,
      at: new Date(report.time),
      exitCode: report.exitCode,
      errorCode: outcome.errorCode,
      error: outcome.message,
      result,
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
    if (outcome.task === "pr_opened" && result) {
      const wanted = await this.wantPullRequest(work, run, result.branch, actor);
      await recordSpend(work, task, result);
      return wanted;
    }
    await this.moveTask(work, run, outcome, actor);
    if (readOnly && task.parentId)
      await this.onReview?.(work, task, outcome.run === "succeeded" ? facts.review : null);
    if (result) await recordSpend(work, task, result);
    return "applied";
  }

  /**
   * The run pushed to a repo on a platform: its PR is opened outside this transaction (ledger row
   * `open_pr:<branch>`), and the task stays running until then. A later run on a branch whose PR
   * is already open (a resume) goes straight back to pr_opened.
   */
  private async wantPullRequest(work: Work, run: LockedRun, branch: string, actor: Actor) {
    const { effects } = this.pullRequests!;
    const purpose = openPrPurpose(branch);
    const opened = await effects.find(run.taskId, purpose, work.tx);
    if (opened?.state === "done") {
      const pr = opened.result as { url: string; number: number };
      await this.machine.transition(work, {
        taskId: run.taskId,
        to: "pr_opened",
        trigger: "run_pushed",
        accepted: ["running", "provisioning"],
        actor,
        runId: run.id,
        data: { prUrl: pr.url, prNumber: pr.number },
      });
      return "applied" as const;
    }
    const input: OpenPrInput = { runId: run.id, branch };
    if (opened) {
      // Pending or given up: try again for this run.
      await work.tx.sideEffect.update({
        where: { taskId_purpose: { taskId: run.taskId, purpose } },
        data: { state: "pending", input, attempts: 0, nextAttemptAt: new Date() },
      });
    } else await effects.want(work.tx, { taskId: run.taskId, purpose, input });
    return "pr_wanted" as const;
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

export type ReportApplierOptions = {
  machine: TaskMachine;
  work: TaskUnitOfWork;
  leaseMs: number;
  /** Scrubs every string of a report (log lines, error messages) before anything is stored. */
  redaction: Pick<StoredSecretsRedactor, "get">;
  /** Where pushed work becomes a pull request; without it every repo is a plain git host. */
  pullRequests?: { hosts: Pick<PlatformHosts, "locate">; effects: SideEffectStore; poke: () => void };
  /** Told how review subtasks end (the PR loop). */
  onReview?: ReviewListener;
};

/**
 * Adds a result's usage to its day's spend rows, last in the transaction: every result of the day
 * updates the same row, so its lock is held for as short a time as the transaction allows.
 */
async function recordSpend(work: Work, task: Pick<TaskRow, "repoUrl" | "agentType">, result: RunResult) {
  if (result.costUsd === null && result.inputTokens === null && result.outputTokens === null) return;
  await spendStore.recordRun(work.tx, {
    day: utcDay(new Date(result.time)),
    repoUrl: task.repoUrl,
    agentType: task.agentType,
    costUsd: result.costUsd ?? 0,
    inputTokens: result.inputTokens ?? 0,
    outputTokens: result.outputTokens ?? 0,
  });
}

/** What the outcome decision needs from a result, or from an exit that came without one. */
function factsOf(report: RunResult | RunExited) {
  if (report.kind === "result") {
    return { exitCode: report.exitCode, pushed: report.pushed, commits: report.commits, error: report.error };
  }
  return { exitCode: report.exitCode, pushed: false, commits: 0, error: errorOfBareExit(report) };
}
