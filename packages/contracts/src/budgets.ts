// Budgets: the caps a run stops at (a task's own, or its repo's defaults), and the daily budget that
// holds new runs once all runs of the UTC day have spent it (GET/PUT /api/settings/budget).
import { z } from "zod";
import { Money, Timestamp } from "./common";

/** USD a run may spend: the runner stops it once its metered cost crosses this. */
export const MaxCostUsd = z
  .number()
  .positive()
  .max(1_000_000)
  .describe("USD each run may spend: the runner stops a run whose metered cost crosses it (BUDGET_EXCEEDED)");

/** Turns a run may take: Claude's model responses, Codex's turns. */
export const MaxTurns = z
  .number()
  .int()
  .positive()
  .max(10_000)
  .describe("Turns each run may take (Claude: model responses; Codex: turns): stopped past it");

export const DailyBudgetSource = z.enum(["setting", "env", "none"]);

/** The daily budget as dispatch applies it now. */
export const DailyBudget = z.object({
  capUsd: z.number().nullable().describe("USD all runs may spend per UTC day; null: no cap"),
  source: DailyBudgetSource.describe(
    "setting: PUT /api/settings/budget; env: OPTIO_DAILY_BUDGET_USD; none: neither",
  ),
  day: z.iso.date().describe("The UTC day"),
  spentUsd: Money.describe("What runs that reported a result spent this UTC day"),
  held: z.boolean().describe("The cap is spent: no new run starts before resetsAt or a higher cap"),
  resetsAt: Timestamp.describe("The next UTC midnight"),
});
export type DailyBudget = z.infer<typeof DailyBudget>;

export const DailyBudgetResponse = z.object({ budget: DailyBudget });

/** PUT /api/settings/budget: overrides OPTIO_DAILY_BUDGET_USD (null: no daily cap) until deleted. */
export const SetDailyBudgetBody = z.strictObject({
  dailyBudgetUsd: z.number().positive().max(10_000_000).nullable(),
});
