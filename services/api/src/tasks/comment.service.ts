// Comments on a task: author and time, oldest first; each one is announced as comment_added.
import type { PrismaClient } from "../db/prisma";
import type { Outbox } from "../events/outbox";
import type { TaskComment as CommentRow, User } from "../generated/prisma/client";
import { taskNotFound } from "./task-machine";

type CommentWithUser = CommentRow & { user: User | null };

export class CommentService {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;

  constructor(options: { prisma: PrismaClient; outbox: Outbox }) {
    this.prisma = options.prisma;
    this.outbox = options.outbox;
  }

  async list(taskId: string): Promise<CommentWithUser[]> {
    const task = await this.prisma.task.findUnique({ where: { id: taskId }, select: { id: true } });
    if (!task) throw taskNotFound();
    return this.prisma.taskComment.findMany({
      where: { taskId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: { user: true },
    });
  }

  async add(taskId: string, content: string, userId: string): Promise<CommentWithUser> {
    return this.outbox.transaction(async (tx) => {
      // FOR KEY SHARE: the task cannot be deleted under the comment, edits of it are not blocked.
      const task = await tx.$queryRaw<
        { id: string }[]
      >`SELECT id FROM tasks WHERE id = ${taskId}::uuid FOR KEY SHARE`;
      if (task.length === 0) throw taskNotFound();
      const comment = await tx.taskComment.create({
        data: { taskId, userId, content },
        include: { user: true },
      });
      await this.outbox.record(tx, {
        entity: "task",
        entityId: taskId,
        event: "comment_added",
        data: { taskId, commentId: comment.id, userId },
      });
      return comment;
    });
  }
}
