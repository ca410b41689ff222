// A person's messages for a task's agent (POST/GET /api/tasks/:id/messages). Every message is
// stored with the task (task_messages, and an event row) before anything else, then delivered by the
// task's state (planMessage): written to the running agent through the runner holding its run;
// a resume run with the message as its prompt; or kept, and put before the prompt of the task's
// next run (task-messages.store.ts, when a run is created; a run not started yet takes it at once).
import { MESSAGE_RESUME, planMessage, type MessageDelivery, type TaskState } from "@optio/core";
import type { SendMessageInput } from "@optio/contracts";
import type { PrismaClient, Tx } from "../db/prisma";
import type { Outbox } from "../events/outbox";
import { LEASED_RUN_STATES, runStore } from "../runs/run.store";
import type { RunMessenger } from "./run-messenger";
import { invalidTransition, taskNotFound, type TaskMachine, type Work } from "./task-machine";
import { taskMessageStore, type MessageWithUser } from "./task-messages.store";
import type { TaskService } from "./task.service";
import type { TaskUnitOfWork } from "./task-work";

export type SentMessage = {
  message: MessageWithUser;
  delivery: MessageDelivery;
  interrupted: boolean;
  /** Why it was not delivered live, when it was not. */
  reason: string | null;
};

/** What the first transaction decided: done, or a runner to ask. */
type Recorded =
  | { kind: "done"; sent: SentMessage }
  | { kind: "live"; messageId: string; runnerId: string; runId: string; attempt: number };

export class TaskMessageService {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;
  private readonly tasks: TaskService;
  private readonly messenger: RunMessenger;
  private readonly now: () => Date;

  constructor(options: {
    prisma: PrismaClient;
    outbox: Outbox;
    machine: TaskMachine;
    work: TaskUnitOfWork;
    tasks: TaskService;
    messenger: RunMessenger;
    now?: () => Date;
  }) {
    this.prisma = options.prisma;
    this.outbox = options.outbox;
    this.machine = options.machine;
    this.work = options.work;
    this.tasks = options.tasks;
    this.messenger = options.messenger;
    this.now = options.now ?? (() => new Date());
  }

  async list(taskId: string): Promise<MessageWithUser[]> {
    const task = await this.prisma.task.findUnique({ where: { id: taskId }, select: { id: true } });
    if (!task) throw taskNotFound();
    return taskMessageStore.list(this.prisma, taskId);
  }

  async send(taskId: string, input: SendMessageInput, userId: string): Promise<SentMessage> {
    const recorded = await this.work.run((work) => this.record(work, taskId, input, userId));
    if (recorded.kind === "done") return recorded.sent;
    // Outside any transaction: the runner may take a few seconds to answer.
    const reply = await this.messenger.send(recorded.runnerId, {
      runId: recorded.runId,
      attempt: recorded.attempt,
      messageId: recorded.messageId,
      text: input.message,
      interrupt: input.interrupt,
    });
    return this.work.run(async ({ tx }) => {
      if (reply.delivered)
        await taskMessageStore.deliveredLive(tx, recorded.messageId, recorded.runId, this.now());
      const message = await taskMessageStore.get(tx, recorded.messageId);
      // Written live, though a new run may have taken it meanwhile too (its row then says so).
      const delivery = reply.delivered ? "live" : (message.delivery as MessageDelivery);
      await this.announce(tx, message, delivery);
      const reason = reply.delivered
        ? null
        : `${reply.reason ?? "not delivered"}: kept for the task's next run`;
      return { message, delivery, interrupted: reply.interrupted, reason };
    });
  }

  /** Stores the message under the task's row lock and acts on the task's state. */
  private async record(
    work: Work,
    taskId: string,
    input: SendMessageInput,
    userId: string,
  ): Promise<Recorded> {
    const { tx } = work;
    // Dependencies first, then the task: the order a resume (TaskService.actIn) locks them in.
    await this.machine.lockDependencyStates(tx, taskId);
    const current = await this.machine.lock(tx, taskId);
    if (!current) throw taskNotFound();
    const task = await tx.task.findUniqueOrThrow({
      where: { id: taskId },
      select: { agentType: true, prompt: true },
    });
    const base = { taskId, userId, content: input.message, interrupt: input.interrupt };
    const plan = planMessage(current.state, task.agentType);
    if (plan === "refuse") throw invalidTransition(taskId, current.state, "message");

    if (plan === "resume") {
      await this.tasks.actIn(
        work,
        taskId,
        "message",
        MESSAGE_RESUME,
        { kind: "user", userId },
        {
          prompt: input.message,
        },
      );
      const run = await tx.run.findFirstOrThrow({ where: { taskId }, orderBy: { attempt: "desc" } });
      const message = await taskMessageStore.insert(tx, {
        ...base,
        delivery: "resumed",
        runId: run.id,
        deliveredAt: this.now(),
      });
      await this.announce(tx, message, "resumed");
      return { kind: "done", sent: { message, delivery: "resumed", interrupted: false, reason: null } };
    }

    const kept = await taskMessageStore.insert(tx, { ...base, delivery: "next_run" });
    if (plan === "live") {
      const run = await tx.run.findFirst({
        where: { taskId, state: { in: [...LEASED_RUN_STATES] } },
        orderBy: { attempt: "desc" },
      });
      await this.note(tx, current.state, kept, run?.id ?? null);
      if (run?.runnerId)
        return {
          kind: "live",
          messageId: kept.id,
          runnerId: run.runnerId,
          runId: run.id,
          attempt: run.attempt,
        };
      return this.kept(tx, kept, "no runner holds the task's run");
    }

    // A run that has not started yet takes it now; else the task's next run will.
    const queued = await tx.run.findFirst({
      where: { taskId, state: "queued" },
      orderBy: { attempt: "desc" },
    });
    await this.note(tx, current.state, kept, queued?.id ?? null);
    if (queued) {
      const prompt = await taskMessageStore.foldIntoRun(
        tx,
        { taskId, runId: queued.id, kind: queued.kind, replaces: null, agentType: task.agentType },
        queued.prompt ?? task.prompt,
        this.now(),
      );
      if (prompt !== null) await runStore.setPrompt(tx, queued.id, prompt);
      return this.kept(
        tx,
        await taskMessageStore.get(tx, kept.id),
        "the task's run has not started: it starts with it",
      );
    }
    const why =
      task.agentType === "shell"
        ? "a shell task has no agent to talk to: kept for its next run"
        : `the task is ${current.state}: kept for its next run`;
    return this.kept(tx, kept, why);
  }

  private async kept(tx: Tx, message: MessageWithUser, reason: string): Promise<Recorded> {
    await this.announce(tx, message, "next_run");
    return { kind: "done", sent: { message, delivery: "next_run", interrupted: false, reason } };
  }

  /** The message in the task's history: an event whose state does not change, by its sender. */
  private note(tx: Tx, state: TaskState, message: MessageWithUser, runId: string | null) {
    return tx.taskEvent.create({
      data: {
        taskId: message.taskId,
        fromState: state,
        toState: state,
        trigger: "user_message",
        message: message.content,
        actor: "user",
        userId: message.userId,
        runId,
      },
    });
  }

  private announce(tx: Tx, message: MessageWithUser, delivery: MessageDelivery) {
    return this.outbox.record(tx, {
      entity: "task",
      entityId: message.taskId,
      event: "message_sent",
      data: {
        taskId: message.taskId,
        messageId: message.id,
        userId: message.userId,
        delivery,
        runId: message.runId,
      },
    });
  }
}
