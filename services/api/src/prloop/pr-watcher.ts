// Keeps each followed PR's observed snapshot fresh and the reconciler fed: a webhook (or the poller)
// asks for a refresh of the tasks it concerns; a refresh reads the PR from the platform, records it,
// and reconciles when it changed. Refreshes of one task run one at a time and coalesce. A sweep
// picks up what is still owed (a change that arrived during a fix-up run, a verdict not posted yet).
// A poll reads every followed PR again now and then: the fallback for repos without webhooks (and
// for deliveries that never came); conditional requests make an unchanged PR cost no rate limit.
import type { Logger } from "pino";
import type { PrismaClient } from "../db/prisma";
import { PassLoop } from "../background/pass-loop";
import type { PrPlatform } from "./pr-platform";
import type { PrReconciler } from "./pr-reconciler.service";
import type { PrWatchStore } from "./pr-watch.store";
import type { WebhookSubject } from "./webhook-events";

/** Tasks whose PR is polled: those the loop may still move (a failed or finished task is left alone). */
const POLLED_STATES = ["pr_opened", "needs_attention", "queued", "provisioning", "running"] as const;

export class PrWatcher {
  private readonly prisma: PrismaClient;
  private readonly store: PrWatchStore;
  private readonly reconciler: PrReconciler;
  private readonly platform: PrPlatform;
  private readonly logger: Logger;
  private readonly inFlight = new Map<string, { done: Promise<void>; again: boolean }>();
  private readonly sweeps: PassLoop;
  private readonly polls: PassLoop | null;
  private stopped = false;

  constructor(options: {
    prisma: PrismaClient;
    store: PrWatchStore;
    reconciler: PrReconciler;
    platform: PrPlatform;
    logger: Logger;
    sweepMs: number;
    /** How often every followed PR is read again (0: never, webhooks only). */
    pollMs?: number;
  }) {
    this.prisma = options.prisma;
    this.store = options.store;
    this.reconciler = options.reconciler;
    this.platform = options.platform;
    this.logger = options.logger;
    const logger = options.logger;
    this.sweeps = new PassLoop({
      intervalMs: options.sweepMs,
      pass: () => this.sweep(),
      logger,
      name: "PR sweep",
    });
    this.polls = options.pollMs
      ? new PassLoop({ intervalMs: options.pollMs, pass: () => this.poll(), logger, name: "PR poll" })
      : null;
  }

  /** The tasks (with a PR) a webhook delivery concerns. */
  async tasksFor(subject: WebhookSubject): Promise<string[]> {
    if (subject.kind !== "prs") return [];
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT t.id FROM tasks t LEFT JOIN pr_watches w ON w.task_id = t.id
       WHERE t.repo_url = ${subject.repoUrl} AND t.pr_number IS NOT NULL
         AND (t.pr_number = ANY(${subject.numbers}::int[])
              OR t.branch_name = ANY(${subject.branches}::text[])
              OR w.observed->>'headSha' = ANY(${subject.shas}::text[]))`;
    return rows.map((row) => row.id);
  }

  /** Reads the task's PR again; resolves once the observation is recorded (and reconciled). */
  refresh(taskId: string): Promise<void> {
    const current = this.inFlight.get(taskId);
    if (current) {
      current.again = true;
      return current.done;
    }
    const entry = { done: Promise.resolve(), again: false };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.refreshOnce(taskId);
        } while (entry.again);
      } finally {
        this.inFlight.delete(taskId);
      }
    })();
    this.inFlight.set(taskId, entry);
    return entry.done;
  }

  private async refreshOnce(taskId: string): Promise<void> {
    const task = await this.prisma.task.findUnique({
      where: { id: taskId },
      select: { repoId: true, repoUrl: true, prNumber: true },
    });
    if (!task?.prNumber) return;
    const snapshot = await this.platform.snapshot({
      taskId,
      repoId: task.repoId,
      repoUrl: task.repoUrl,
      prNumber: task.prNumber,
    });
    if (await this.store.observe(taskId, snapshot)) await this.reconciler.reconcile(taskId);
  }

  /** Refreshes in the background (a webhook's answer does not wait for GitHub's API). */
  refreshLater(taskIds: readonly string[]): void {
    for (const taskId of taskIds) {
      this.refresh(taskId).catch((err: unknown) =>
        this.logger.warn({ err, taskId }, "PR refresh failed; the next delivery or poll retries"),
      );
    }
  }

  /** One sweep over what the reconciler still owes. */
  async sweep(): Promise<void> {
    for (const taskId of await this.store.owed(100)) {
      await this.reconciler
        .reconcile(taskId)
        .catch((err: unknown) =>
          this.logger.warn({ err, taskId }, "PR reconcile failed; retried next sweep"),
        );
    }
  }

  /** One polling pass: every PR of a task the loop may still move is read again, one at a time. */
  async poll(): Promise<void> {
    const tasks = await this.prisma.task.findMany({
      where: { prNumber: { not: null }, state: { in: [...POLLED_STATES] } },
      select: { id: true },
      orderBy: { updatedAt: "asc" },
    });
    for (const task of tasks) {
      if (this.stopped) return;
      await this.refresh(task.id).catch((err: unknown) =>
        this.logger.warn({ err, taskId: task.id }, "PR poll failed; the next poll retries"),
      );
    }
  }

  start(): void {
    this.stopped = false;
    this.sweeps.start();
    this.polls?.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.sweeps.stop(), this.polls?.stop()]);
    await Promise.allSettled([...this.inFlight.values()].map((entry) => entry.done));
  }
}
