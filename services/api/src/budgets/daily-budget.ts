// The daily budget: what all runs may spend per UTC day (OPTIO_DAILY_BUDGET_USD, or the setting
// PUT /api/settings/budget stores over it). Once the day's spend reaches it, the claim starts no new
// run (its pick reads the same row: spend.store.ts budgetRow) and queued tasks say why; runs already
// going are bounded by their own caps. The next UTC day, or a higher cap, releases them: runners
// find the work at their next poll, or at once when the cap is raised here (a wakeup).
import type { DailyBudget as DailyBudgetView } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { money } from "../tasks/task.view";
import type { RunSignals } from "../tasks/run-signals";
import { DAILY_BUDGET_SETTING, nextUtcMidnight, spendStore, utcDay, type BudgetGate } from "./spend.store";

/** How long a view may show a status read earlier (task lists ask for every page). */
const VIEW_CACHE_MS = 1_000;

export class DailyBudget {
  private readonly prisma: PrismaClient;
  private readonly clock: () => Date;
  private readonly envCapUsd: number | null;
  private readonly signals: Pick<RunSignals, "wakeup">;
  private cached: { at: number; day: string; status: Promise<DailyBudgetView> } | undefined;

  constructor(options: {
    prisma: PrismaClient;
    /** OPTIO_DAILY_BUDGET_USD (null: no cap unless the setting sets one). */
    envCapUsd: number | null;
    signals: Pick<RunSignals, "wakeup">;
    clock?: () => Date;
  }) {
    this.prisma = options.prisma;
    this.envCapUsd = options.envCapUsd;
    this.signals = options.signals;
    this.clock = options.clock ?? (() => new Date());
  }

  /** What the claim's pick needs to apply the budget: today (UTC) and the environment's cap. */
  gate(): BudgetGate {
    return { day: utcDay(this.clock()), envCapUsd: this.envCapUsd };
  }

  /** The budget now, read from Postgres. */
  async status(): Promise<DailyBudgetView> {
    const now = this.clock();
    const row = await spendStore.budget(this.prisma, { day: utcDay(now), envCapUsd: this.envCapUsd });
    return {
      capUsd: row.cap_usd === null ? null : row.cap_usd.toNumber(),
      source: row.source,
      day: utcDay(now),
      spentUsd: money(row.spent_usd),
      held: row.held,
      resetsAt: nextUtcMidnight(now).toISOString(),
    };
  }

  /**
   * Why queued tasks cannot start now, or null: for task views, from a status at most a second old
   * (a new day is never served yesterday's).
   */
  async queueReason(): Promise<string | null> {
    const now = this.clock();
    const day = utcDay(now);
    if (!this.cached || this.cached.day !== day || now.getTime() - this.cached.at > VIEW_CACHE_MS) {
      const status = this.status();
      this.cached = { at: now.getTime(), day, status };
      status.catch(() => (this.cached = undefined));
    }
    return heldReason(await this.cached.status);
  }

  /** Sets the cap over OPTIO_DAILY_BUDGET_USD (null: no daily cap); a raised cap releases the queue. */
  async setCap(usd: number | null): Promise<DailyBudgetView> {
    await this.prisma.setting.upsert({
      where: { key: DAILY_BUDGET_SETTING },
      create: { key: DAILY_BUDGET_SETTING, value: { usd } },
      update: { value: { usd } },
    });
    return this.changed();
  }

  /** Drops the setting: OPTIO_DAILY_BUDGET_USD applies again. */
  async clearCap(): Promise<DailyBudgetView> {
    await this.prisma.setting.deleteMany({ where: { key: DAILY_BUDGET_SETTING } });
    return this.changed();
  }

  private async changed(): Promise<DailyBudgetView> {
    this.cached = undefined;
    const status = await this.status();
    if (!status.held) this.signals.wakeup(); // held tasks may start now
    return status;
  }
}

/** What a held queue says: the cap, the spend, and when it resets. */
export function heldReason(status: DailyBudgetView): string | null {
  if (!status.held || status.capUsd === null) return null;
  return (
    `The daily budget of $${status.capUsd.toFixed(2)} is spent ($${Number(status.spentUsd).toFixed(2)} ` +
    `on ${status.day}, UTC): runs start again at ${status.resetsAt} or when the cap is raised`
  );
}
