import type { PrismaClient } from "../../src/db/prisma";

/** Row counts of every table a request could write; a refused request must leave them all unchanged. */
export function rowCounts(prisma: PrismaClient): Promise<Record<string, number>> {
  const counts = {
    users: prisma.user.count(),
    sessions: prisma.session.count(),
    apiTokens: prisma.apiToken.count(),
    repos: prisma.repo.count(),
    tasks: prisma.task.count(),
    runs: prisma.run.count(),
    taskEvents: prisma.taskEvent.count(),
    taskDependencies: prisma.taskDependency.count(),
    taskComments: prisma.taskComment.count(),
    idempotencyKeys: prisma.idempotencyKey.count(),
    taskLogs: prisma.taskLog.count(),
    runners: prisma.runner.count(),
    outboxEvents: prisma.outboxEvent.count(),
    secrets: prisma.secret.count(),
    settings: prisma.setting.count(),
    spendDays: prisma.spendDay.count(),
    repoSpendDays: prisma.repoSpendDay.count(),
  };
  return Promise.all(Object.values(counts)).then((values) =>
    Object.fromEntries(Object.keys(counts).map((key, i) => [key, values[i]!])),
  );
}
