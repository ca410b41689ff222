// Wires the task services once; services.ts (main and tests) calls createTaskServices.
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { poolOf, type PrismaClient } from "../db/prisma";
import type { Outbox } from "../events/outbox";
import type { RepoUrlPolicy } from "../repos/repo-url";
import { CommentService } from "./comment.service";
import { DependencyService } from "./dependency.service";
import { IntakeBatcher } from "./intake-batcher";
import { RepoUrlGuard } from "./repo-url-guard";
import { NatsRunMessenger, type RunMessenger } from "./run-messenger";
import { NatsRunSignals, type RunSignals } from "./run-signals";
import { SubtaskService } from "./subtask.service";
import { TaskMachine } from "./task-machine";
import { TaskMessageService } from "./task-message.service";
import { TaskQueries } from "./task-queries";
import { TaskUnitOfWork } from "./task-work";
import { TaskService } from "./task.service";
import type { DailyBudget } from "../budgets/daily-budget";

export type TaskServices = {
  tasks: TaskService;
  queries: TaskQueries;
  subtasks: SubtaskService;
  dependencies: DependencyService;
  comments: CommentService;
  /** The daily budget: queued tasks it holds say so (queueReason, pendingReason). */
  budget: DailyBudget;
  messages: TaskMessageService;
  /** For other services that change task state (runner reports, PR watcher). */
  machine: TaskMachine;
  work: TaskUnitOfWork;
};

export function createTaskServices(deps: {
  prisma: PrismaClient;
  outbox: Outbox;
  urlPolicy: RepoUrlPolicy;
  nats: NatsConnection;
  logger: Logger;
  signals?: RunSignals;
  /** Where a person's message for a running agent goes (default: the runner holding the run). */
  messenger?: RunMessenger;
  /** How long a runner stays live without a heartbeat (pendingReason names tasks none can take). */
  runnerStaleMs?: number;
  budget: DailyBudget;
}): TaskServices {
  const { prisma, outbox, urlPolicy } = deps;
  const signals = deps.signals ?? new NatsRunSignals({ nats: deps.nats, logger: deps.logger });
  const machine = new TaskMachine({ outbox });
  const work = new TaskUnitOfWork({ prisma, outbox, signals });
  const tasks = new TaskService({
    prisma,
    outbox,
    machine,
    work,
    urlGuard: new RepoUrlGuard({ policy: urlPolicy }),
    intake: new IntakeBatcher({
      pool: poolOf(prisma),
      onCommitted: () => {
        outbox.committed();
        signals.wakeup();
      },
    }),
  });
  const messenger = deps.messenger ?? new NatsRunMessenger({ nats: deps.nats, logger: deps.logger });
  return {
    tasks,
    queries: new TaskQueries({ prisma, runnerStaleMs: deps.runnerStaleMs, budget: deps.budget }),
    subtasks: new SubtaskService({ prisma, work }),
    dependencies: new DependencyService({ prisma, outbox, machine, work }),
    comments: new CommentService({ prisma, outbox }),
    messages: new TaskMessageService({ prisma, outbox, machine, work, tasks, messenger }),
    budget: deps.budget,
    machine,
    work,
  };
}
