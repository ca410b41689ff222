// Runs whose lease was not renewed (runner killed, host lost) are closed, and their task is requeued
// as a new attempt or failed after the repo's maxAttempts. The late runner is fenced: its reports
// are refused and it is told to stop.
import { decideRunOutcome, type TaskState } from "@optio/core";
import type { Logger } from "pino";
import type { PrismaClient } from "../db/prisma";
import type { TaskMachine } from "../tasks/task-machine";
import type { TaskUnitOfWork } from "../tasks/task-work";
import { runStore } from "../runs/run.store";

/** Task states in which a run holds a lease. */
const LEASED_TASK_STATES: readonly TaskState[] = ["provisioning", "running"];

export class LeaseReaper {
  private readonly prisma: PrismaClient;
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(options: {
    prisma: PrismaClient;
    machine: TaskMachine;
    work: TaskUnitOfWork;
    logger: Logger;
    intervalMs: number;
  }) {
    this.prisma = options.prisma;
    this.machine = options.machine;
    this.work = options.work;
    this.logger = options.logger;
    this.intervalMs = options.intervalMs;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.reap().finally(() => (this.running = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Reaps every expired lease now; returns how many runs were closed. */
  async reap(): Promise<number> {
    let reaped = 0;
    try {
      for (;;) {
        const closed = await this.reapOne();
        if (!closed) return reaped;
        reaped++;
      }
    } catch (err) {
      this.logger.warn({ err }, "lease reaping failed; will retry");
      return reaped;
    }
  }

  private reapOne(): Promise<boolean> {
    return this.work.run(async (work) => {
      // Task and run locked together, skipping pairs a claim, report or user action holds: the
      // task is then decided on its current state, and one busy row never stalls the reaper.
      const [run] = await work.tx.$queryRaw<
        { id: string; task_id: string; attempt: number; runner_id: string | null; task_state: TaskState }[]
      >`
        SELECT r.id, r.task_id, r.attempt, r.runner_id, t.state AS task_state
          FROM runs r JOIN tasks t ON t.id = r.task_id
         WHERE r.state IN ('provisioning', 'running') AND r.lease_expires_at < now()
         ORDER BY r.lease_expires_at LIMIT 1 FOR UPDATE OF r, t SKIP LOCKED`;
      if (!run) return false;
      const task = await work.tx.task.findUniqueOrThrow({ where: { id: run.task_id } });
      const message = `runner ${run.runner_id ?? "?"} stopped renewing the lease of attempt ${run.attempt}`;
      const outcome = decideRunOutcome(
        { exitCode: null, pushed: false, commits: 0, error: { code: "LEASE_EXPIRED", message } },
        run.attempt,
        task.maxAttempts,
      );
      await runStore.leaseExpired(work.tx, run.id, message);
      if (run.runner_id)
        work.after.cancelRuns.push({ runId: run.id, attempt: run.attempt, runnerId: run.runner_id });
      // A task that already moved on (its run was left open) keeps its state; only the run closes.
      if (!LEASED_TASK_STATES.includes(run.task_state)) return true;
      await this.machine.transition(work, {
        taskId: task.id,
        to: outcome.task,
        trigger: "lease_expired",
        message: outcome.message,
        accepted: LEASED_TASK_STATES,
        actor: { kind: "system" },
        runId: run.id,
        ...(outcome.task === "queued" && { newRun: { kind: "lease_expired" as const } }),
      });
      this.logger.warn({ runId: run.id, taskId: task.id, next: outcome.task }, "lease expired");
      return true;
    });
  }

  /** A runner that (re)started holds no runs: expire its old leases at once instead of waiting. */
  async forfeitLeasesOf(runnerId: string): Promise<number> {
    const { count } = await runStore.forfeitLeases(this.prisma, runnerId);
    if (count > 0) await this.reap();
    return count;
  }
}
