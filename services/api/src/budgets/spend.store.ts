// What runs spent, per UTC day: one row per day over everything (spend_days, the row the claim's
// budget gate reads) and one per day, repository and agent type (repo_spend_days, for the stats and
// the metrics). Both are added to in the transaction that applies a run's result; the day is the
// result's (a run spanning midnight counts on the day it ended).
import type { PrismaClient, Tx } from "../db/prisma";
import { Prisma } from "../generated/prisma/client";

/** The settings row that overrides OPTIO_DAILY_BUDGET_USD: `{ "usd": <number> | null }`. */
export const DAILY_BUDGET_SETTING = "daily_budget_usd";

/** What a question about the daily budget needs: the UTC day, and the cap from the environment. */
export type BudgetGate = { day: string; envCapUsd: number | null };

/** The UTC day of a time, as Postgres's `date` reads it. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The next UTC midnight after `at`. */
export function nextUtcMidnight(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
}

/**
 * One row: the day's cap (`cap_usd`, null: none) and where it comes from (`source`: the setting,
 * else the environment), what was spent (`spent_usd`) and whether that holds new runs (`held`).
 * Two primary-key probes, cheap enough for every claim (it is part of the claim's pick).
 */
export function budgetRow(gate: BudgetGate): Prisma.Sql {
  return Prisma.sql`
    SELECT cap.usd AS cap_usd, cap.source, COALESCE(d.cost_usd, 0) AS spent_usd,
           COALESCE(COALESCE(d.cost_usd, 0) >= cap.usd, false) AS held
      FROM (SELECT CASE WHEN s.key IS NULL THEN ${gate.envCapUsd}::numeric
                        ELSE (s.value->>'usd')::numeric END AS usd,
                   CASE WHEN s.key IS NOT NULL THEN 'setting'
                        WHEN ${gate.envCapUsd}::numeric IS NOT NULL THEN 'env' ELSE 'none' END AS source
              FROM (SELECT 1) one LEFT JOIN settings s ON s.key = ${DAILY_BUDGET_SETTING}) cap
      LEFT JOIN spend_days d ON d.day = ${gate.day}::date`;
}

export type BudgetRow = {
  cap_usd: Prisma.Decimal | null;
  source: "setting" | "env" | "none";
  spent_usd: Prisma.Decimal;
  held: boolean;
};

export const spendStore = {
  /**
   * Adds a run's reported usage to its day's rows (in the transaction applying its result): the
   * day's total first, then its repository's, the same order in every transaction.
   */
  async recordRun(
    tx: Tx,
    spend: {
      day: string;
      repoUrl: string;
      agentType: string;
      costUsd: number;
      inputTokens: number;
      outputTokens: number;
    },
  ): Promise<void> {
    const { day, costUsd, inputTokens, outputTokens } = spend;
    await tx.$executeRaw`
      INSERT INTO spend_days AS d (day, cost_usd, input_tokens, output_tokens, runs, updated_at)
      VALUES (${day}::date, ${costUsd}::numeric, ${inputTokens}, ${outputTokens}, 1, now())
      ON CONFLICT (day) DO UPDATE
        SET cost_usd = d.cost_usd + EXCLUDED.cost_usd, input_tokens = d.input_tokens + EXCLUDED.input_tokens,
            output_tokens = d.output_tokens + EXCLUDED.output_tokens, runs = d.runs + 1, updated_at = now()`;
    await tx.$executeRaw`
      INSERT INTO repo_spend_days AS r
             (day, repo_url, agent_type, cost_usd, input_tokens, output_tokens, runs, updated_at)
      VALUES (${day}::date, ${spend.repoUrl}, ${spend.agentType}, ${costUsd}::numeric, ${inputTokens},
              ${outputTokens}, 1, now())
      ON CONFLICT (day, repo_url, agent_type) DO UPDATE
        SET cost_usd = r.cost_usd + EXCLUDED.cost_usd, input_tokens = r.input_tokens + EXCLUDED.input_tokens,
            output_tokens = r.output_tokens + EXCLUDED.output_tokens, runs = r.runs + 1, updated_at = now()`;
  },

  /** The daily budget's row for `gate` (see budgetRow). */
  budget: async (db: PrismaClient | Tx, gate: BudgetGate): Promise<BudgetRow> =>
    (await db.$queryRaw<BudgetRow[]>(budgetRow(gate)))[0]!,
};
