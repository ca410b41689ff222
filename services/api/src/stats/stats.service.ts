import type { AgentType, SpendResponse, SpendTotals, StatsResponse, TaskState } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { Prisma } from "../generated/prisma/client";
import type { DailyBudget } from "../budgets/daily-budget";
import { utcDay } from "../budgets/spend.store";
import { money } from "../tasks/task.view";

type Counts = Partial<Record<TaskState, number>>;

/** Sums of spend rows, kept exact (Decimal) until they are shown. */
class Sum {
  costUsd = new Prisma.Decimal(0);
  inputTokens = 0n;
  outputTokens = 0n;
  runs = 0;

  add(row: { costUsd: Prisma.Decimal; inputTokens: bigint; outputTokens: bigint; runs: number }): this {
    this.costUsd = this.costUsd.plus(row.costUsd);
    this.inputTokens += row.inputTokens;
    this.outputTokens += row.outputTokens;
    this.runs += row.runs;
    return this;
  }

  view(): SpendTotals {
    return {
      costUsd: money(this.costUsd),
      inputTokens: Number(this.inputTokens),
      outputTokens: Number(this.outputTokens),
      runs: this.runs,
    };
  }
}

const sumOf = <K>(map: Map<K, Sum>, key: K): Sum => {
  let sum = map.get(key);
  if (!sum) map.set(key, (sum = new Sum()));
  return sum;
};

/** Task counts by state and repository, in one grouped query; spend per day, repository and agent. */
export class StatsService {
  private readonly prisma: PrismaClient;
  private readonly budget: Pick<DailyBudget, "status">;
  private readonly clock: () => Date;

  constructor(options: { prisma: PrismaClient; budget: Pick<DailyBudget, "status">; clock?: () => Date }) {
    this.prisma = options.prisma;
    this.budget = options.budget;
    this.clock = options.clock ?? (() => new Date());
  }

  async taskCounts(): Promise<StatsResponse> {
    const rows = await this.prisma.task.groupBy({ by: ["repoUrl", "state"], _count: { _all: true } });
    const byState: Counts = {};
    const repos = new Map<string, { repoUrl: string; total: number; byState: Counts }>();
    let total = 0;
    for (const row of rows) {
      const n = row._count._all;
      total += n;
      byState[row.state] = (byState[row.state] ?? 0) + n;
      const repo = repos.get(row.repoUrl) ?? { repoUrl: row.repoUrl, total: 0, byState: {} };
      repo.total += n;
      repo.byState[row.state] = n;
      repos.set(row.repoUrl, repo);
    }
    return { total, byState, byRepo: [...repos.values()].sort((a, b) => a.repoUrl.localeCompare(b.repoUrl)) };
  }

  /** The last `days` UTC days of spend (today included), from the rows results add to. */
  async spend(days: number): Promise<SpendResponse> {
    const now = this.clock();
    const to = utcDay(now);
    const from = utcDay(
      new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - days + 1)),
    );
    const [rows, budget] = await Promise.all([
      this.prisma.repoSpendDay.findMany({
        where: { day: { gte: new Date(from) } },
        orderBy: [{ day: "asc" }, { repoUrl: "asc" }, { agentType: "asc" }],
      }),
      this.budget.status(),
    ]);
    const total = new Sum();
    const byDay = new Map<string, Sum>();
    const byRepo = new Map<string, { sum: Sum; days: Map<string, Sum> }>();
    const byAgent = new Map<string, Sum>();
    for (const row of rows) {
      const day = utcDay(row.day);
      total.add(row);
      sumOf(byDay, day).add(row);
      sumOf(byAgent, row.agentType).add(row);
      let repo = byRepo.get(row.repoUrl);
      if (!repo) byRepo.set(row.repoUrl, (repo = { sum: new Sum(), days: new Map() }));
      repo.sum.add(row);
      sumOf(repo.days, day).add(row);
    }
    return {
      from,
      to,
      total: total.view(),
      byDay: [...byDay].map(([day, sum]) => ({ day, ...sum.view() })),
      byRepo: [...byRepo]
        .sort(([a, x], [b, y]) => y.sum.costUsd.comparedTo(x.sum.costUsd) || a.localeCompare(b))
        .map(([repoUrl, repo]) => ({
          repoUrl,
          ...repo.sum.view(),
          days: [...repo.days].map(([day, sum]) => ({ day, ...sum.view() })),
        })),
      byAgent: [...byAgent].map(([agentType, sum]) => ({ agentType: agentType as AgentType, ...sum.view() })),
      budget,
    };
  }
}
