// The side-effect ledger's queries. A wanted effect is a row (task, purpose); the worker leases due
// rows (SKIP LOCKED, so API replicas share the work), performs them outside any transaction and
// records the result. A crash mid-call leaves the row pending: it is retried when its lease ends,
// and each handler first looks on the platform for what an earlier attempt may have done.
import type { PrismaClient, Tx } from "../db/prisma";
import type { SideEffect } from "../generated/prisma/client";

export type WantedEffect = { taskId: string; purpose: string; input: Record<string, unknown> };

export class SideEffectStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Records that an effect is wanted; a second want of the same (task, purpose) changes nothing. */
  async want(db: PrismaClient | Tx, effect: WantedEffect): Promise<void> {
    await db.$executeRaw`
      INSERT INTO side_effects (task_id, purpose, input, updated_at)
      VALUES (${effect.taskId}::uuid, ${effect.purpose}, ${JSON.stringify(effect.input)}::jsonb, now())
      ON CONFLICT (task_id, purpose) DO NOTHING`;
  }

  /** Leases up to `limit` due effects for `leaseMs` (the attempt counter goes up). */
  async lease(limit: number, leaseMs: number): Promise<SideEffect[]> {
    const rows = await this.prisma.$queryRaw<Array<{ task_id: string; purpose: string }>>`
      UPDATE side_effects SET attempts = attempts + 1,
             next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000}::float8), updated_at = now()
       WHERE (task_id, purpose) IN (
             SELECT task_id, purpose FROM side_effects
              WHERE state = 'pending' AND next_attempt_at <= now()
              ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING task_id, purpose`;
    if (rows.length === 0) return [];
    return this.prisma.sideEffect.findMany({
      where: { OR: rows.map((row) => ({ taskId: row.task_id, purpose: row.purpose })) },
    });
  }

  async done(
    db: PrismaClient | Tx,
    key: { taskId: string; purpose: string },
    result: Record<string, unknown>,
  ) {
    await db.sideEffect.update({
      where: { taskId_purpose: key },
      data: { state: "done", result: result as object, lastError: null },
    });
  }

  /** Records the reason; retried at `retryAt`, or given up (`failed`) when null. */
  async failed(key: { taskId: string; purpose: string }, reason: string, retryAt: Date | null) {
    await this.prisma.sideEffect.update({
      where: { taskId_purpose: key },
      data: retryAt ? { lastError: reason, nextAttemptAt: retryAt } : { state: "failed", lastError: reason },
    });
  }

  find(taskId: string, purpose: string, db: PrismaClient | Tx = this.prisma): Promise<SideEffect | null> {
    return db.sideEffect.findUnique({ where: { taskId_purpose: { taskId, purpose } } });
  }
}
