import type { StatsResponse, TaskState } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";

type Counts = Partial<Record<TaskState, number>>;

/** Task counts by state and repository, in one grouped query. */
export class StatsService {
  private readonly prisma: PrismaClient;

  constructor(options: { prisma: PrismaClient }) {
    this.prisma = options.prisma;
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
}
