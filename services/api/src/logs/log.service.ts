import type { TaskLogEntry, TaskLogsQuery } from "@optio/contracts";
import type { Prisma, PrismaClient } from "../db/prisma";
import { notFound } from "../errors";

type LogRow = Prisma.TaskLogGetPayload<{ include: { run: { select: { attempt: true } } } }>;

function toEntry(row: LogRow): TaskLogEntry {
  return {
    id: row.id.toString(),
    runId: row.runId,
    attempt: row.run.attempt,
    seq: row.seq,
    stream: row.stream as TaskLogEntry["stream"],
    type: row.type as TaskLogEntry["type"],
    content: row.content,
    data: (row.data as Record<string, unknown> | null) ?? null,
    time: row.createdAt.toISOString(),
  };
}

/** Reads a task's stored run logs by cursor (the log id), for pages and for live streams. */
export class LogService {
  private readonly prisma: PrismaClient;

  constructor(options: { prisma: PrismaClient }) {
    this.prisma = options.prisma;
  }

  async assertTask(taskId: string): Promise<void> {
    const exists = await this.prisma.task.count({ where: { id: taskId } });
    if (!exists) throw notFound("TASK_NOT_FOUND", "Task not found");
  }

  async page(taskId: string, query: Omit<TaskLogsQuery, "limit"> & { limit: number }) {
    const rows = await this.prisma.taskLog.findMany({
      where: {
        taskId,
        ...(query.after && { id: { gt: BigInt(query.after) } }),
        ...(query.runId && { runId: query.runId }),
        ...(query.attempt && { run: { attempt: query.attempt } }),
        ...(query.type && { type: { in: query.type } }),
        ...(query.search && { content: { contains: query.search, mode: "insensitive" as const } }),
      },
      include: { run: { select: { attempt: true } } },
      orderBy: { id: "asc" },
      take: query.limit + 1,
    });
    const logs = rows.slice(0, query.limit).map(toEntry);
    const nextCursor = rows.length > query.limit ? logs[logs.length - 1]!.id : null;
    return { logs, nextCursor };
  }
}
