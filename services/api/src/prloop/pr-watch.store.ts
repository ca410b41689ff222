// The PR a task follows: the snapshot last observed on the platform and the one last handled by the
// reconciler, kept apart so a reaction compares against what it handled, never against a value the
// watcher has just overwritten.
import type { PrSnapshot } from "@optio/core";
import type { PrismaClient, Tx } from "../db/prisma";
import type { PrWatch } from "../generated/prisma/client";

/** Key order and check order do not make a snapshot new. */
export function canonicalSnapshot(snapshot: PrSnapshot): PrSnapshot {
  const items = [...snapshot.checks.items].sort(
    (a, b) => a.name.localeCompare(b.name) || a.state.localeCompare(b.state),
  );
  return { ...snapshot, checks: { ...snapshot.checks, items } };
}

export class PrWatchStore {
  private readonly prisma: PrismaClient;

  constructor(options: { prisma: PrismaClient }) {
    this.prisma = options.prisma;
  }

  /**
   * Records what the platform shows now. Returns true when it differs from the last observation
   * (the reconciler then owes the task a look), false for a repeat.
   */
  async observe(taskId: string, snapshot: PrSnapshot): Promise<boolean> {
    const json = JSON.stringify(canonicalSnapshot(snapshot));
    const rows = await this.prisma.$queryRaw<{ observed_version: number }[]>`
      INSERT INTO pr_watches (task_id, pr_number, observed, observed_version, observed_at, updated_at)
      VALUES (${taskId}::uuid, ${snapshot.number}, ${json}::jsonb, 1, now(), now())
      ON CONFLICT (task_id) DO UPDATE
        SET observed = EXCLUDED.observed, pr_number = EXCLUDED.pr_number,
            observed_version = pr_watches.observed_version + 1, observed_at = now(), updated_at = now()
        WHERE pr_watches.observed IS DISTINCT FROM EXCLUDED.observed AND NOT pr_watches.close_requested
      RETURNING observed_version`;
    return rows.length > 0;
  }

  /** The task's row, locked for one reconcile (concurrent reconciles of a task run in turn). */
  async lock(tx: Tx, taskId: string): Promise<PrWatch | null> {
    const rows = await tx.$queryRaw<{ task_id: string }[]>`
      SELECT task_id FROM pr_watches WHERE task_id = ${taskId}::uuid FOR UPDATE`;
    if (rows.length === 0) return null;
    return tx.prWatch.findUnique({ where: { taskId } });
  }

  async recordHandled(tx: Tx, row: PrWatch): Promise<void> {
    await tx.prWatch.update({
      where: { taskId: row.taskId },
      data: {
        handled: row.observed ?? undefined,
        handledVersion: row.observedVersion,
        handledAt: new Date(),
      },
    });
  }

  /**
   * Tasks the reconciler owes a look: an unhandled observation, a review verdict not posted, or an
   * abandoned PR to close.
   */
  async owed(limit: number): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ task_id: string }[]>`
      SELECT w.task_id FROM pr_watches w JOIN tasks t ON t.id = w.task_id
       WHERE w.close_requested
          OR ((w.observed_version > w.handled_version
               OR (w.review_status IN ('approved', 'changes_requested') AND NOT w.review_posted))
              AND t.state NOT IN ('completed', 'cancelled'))
       ORDER BY w.updated_at LIMIT ${limit}`;
    return rows.map((row) => row.task_id);
  }
}
