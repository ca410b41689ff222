import { z } from "zod";
import { DailyBudget } from "./budgets";
import { Money } from "./common";
import { AgentType } from "./repos";
import { TaskState } from "./tasks";

const Counts = z.partialRecord(TaskState, z.number().int());

/** GET /api/stats: counted by the server, so dashboards never add up pages. */
export const StatsResponse = z.object({
  total: z.number().int(),
  byState: Counts,
  byRepo: z.array(z.object({ repoUrl: z.string(), total: z.number().int(), byState: Counts })),
});
export type StatsResponse = z.infer<typeof StatsResponse>;

// ---------------------------------------------------------------- spend

/** GET /api/stats/spend: the last `days` UTC days, today included. */
export const SpendQuery = z.object({
  days: z.coerce.number().int().min(1).max(366).default(30).describe("UTC days, today included"),
});

/** What runs that reported a result used (runs stopped by a runner that died report nothing). */
export const SpendTotals = z.object({
  costUsd: Money,
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  runs: z.number().int().describe("Results counted"),
});
export type SpendTotals = z.infer<typeof SpendTotals>;

const Day = z.iso.date();

export const SpendResponse = z.object({
  from: Day,
  to: Day,
  total: SpendTotals,
  byDay: z.array(SpendTotals.extend({ day: Day })).describe("Days with spend, oldest first"),
  byRepo: z
    .array(SpendTotals.extend({ repoUrl: z.string(), days: z.array(SpendTotals.extend({ day: Day })) }))
    .describe("Repositories with spend, dearest first, with their days"),
  byAgent: z.array(SpendTotals.extend({ agentType: AgentType })),
  budget: DailyBudget,
});
export type SpendResponse = z.infer<typeof SpendResponse>;
