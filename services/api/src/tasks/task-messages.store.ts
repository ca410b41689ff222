// Every read and write of task_messages, named by the step of a message's life it records.
import { promptWithMessages, type MessageDelivery, type RunKind } from "@optio/core";
import type { TaskMessage as TaskMessageContract } from "@optio/contracts";
import type { PrismaClient, Tx } from "../db/prisma";
import type { TaskMessage as MessageRow, User } from "../generated/prisma/client";

type Db = Tx | PrismaClient;
export type MessageWithUser = MessageRow & { user: User | null };

/** Runs Optio starts on its own to replace a failed or lost attempt: they carry its messages. */
const REPLACING_RUN_KINDS: readonly RunKind[] = ["retry", "lease_expired"];

const author = (user: User | null) => (user ? (user.displayName ?? user.name ?? user.email) : null);

export const taskMessageStore = {
  /** A message as sent: kept (`deliveredAt` null) unless `runId` already got it. */
  insert: (
    tx: Tx,
    message: {
      taskId: string;
      userId: string;
      content: string;
      interrupt: boolean;
      delivery: MessageDelivery;
      runId?: string | null;
      deliveredAt?: Date | null;
    },
  ) => tx.taskMessage.create({ data: message, include: { user: true } }),

  /** The running agent's input took it. */
  deliveredLive: (db: Db, messageId: string, runId: string, at: Date) =>
    db.taskMessage.updateMany({
      where: { id: messageId, deliveredAt: null },
      data: { delivery: "live", runId, deliveredAt: at },
    }),

  get: (db: Db, messageId: string) =>
    db.taskMessage.findUniqueOrThrow({ where: { id: messageId }, include: { user: true } }),

  list: (db: Db, taskId: string) =>
    db.taskMessage.findMany({
      where: { taskId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: { user: true },
    }),

  /**
   * The prompt of a new run of the task: `prompt` preceded by the messages it carries (those not
   * delivered yet, and those of the attempt it replaces when Optio starts it to replace one, which
   * begins a new session), which are then the run's. Inside the transaction that holds the task's
   * row lock (every message is written under it too).
   */
  async foldIntoRun(
    tx: Tx,
    run: { taskId: string; runId: string; kind: RunKind; replaces: string | null; agentType: string },
    prompt: string,
    at: Date,
  ): Promise<string | null> {
    const replaced = run.replaces && REPLACING_RUN_KINDS.includes(run.kind) ? run.replaces : null;
    const messages = await tx.taskMessage.findMany({
      where: {
        taskId: run.taskId,
        OR: [{ deliveredAt: null }, ...(replaced ? [{ runId: replaced }] : [])],
      },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: { user: true },
    });
    if (messages.length === 0) return null;
    await tx.taskMessage.updateMany({
      where: { id: { in: messages.map((m) => m.id) } },
      data: { runId: run.runId },
    });
    await tx.taskMessage.updateMany({
      where: { id: { in: messages.map((m) => m.id) }, deliveredAt: null },
      data: { deliveredAt: at },
    });
    return promptWithMessages(
      prompt,
      messages.map((m) => ({ content: m.content, author: author(m.user), createdAt: m.createdAt })),
      { asComments: run.agentType === "shell" },
    );
  },
};

export function toMessageView(message: MessageWithUser): TaskMessageContract {
  return {
    id: message.id,
    taskId: message.taskId,
    userId: message.userId,
    content: message.content,
    interrupt: message.interrupt,
    delivery: message.delivery as MessageDelivery,
    runId: message.runId,
    deliveredAt: message.deliveredAt?.toISOString() ?? null,
    createdAt: message.createdAt.toISOString(),
    user: message.user ? { id: message.user.id, name: message.user.name, email: message.user.email } : null,
  };
}
