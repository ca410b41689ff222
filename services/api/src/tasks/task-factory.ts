// Inserting a task (top-level or subtask) in its initial state, with its dependency edges, its
// first run, its creation event row and its `created` outbox event, inside the caller's transaction.
import type { AgentType, TaskType } from "@optio/contracts";
import { canTransition, dependencyVerdict, type TaskState } from "@optio/core";
import type { Prisma, Tx } from "../db/prisma";
import { AppError } from "../errors";
import type { Outbox } from "../events/outbox";
import type { Run, Task as TaskRow } from "../generated/prisma/client";
import { actorName, actorUserId, type Actor, type Work } from "./task-machine";

export type NewTask = {
  title: string;
  prompt: string;
  repoUrl: string;
  repoId: string | null;
  repoBranch: string;
  agentType: AgentType;
  model: string | null;
  priority: number;
  maxAttempts: number;
  metadata: Record<string, unknown>;
  createdBy: string | null;
  taskType: TaskType;
  parentId?: string | null;
  subtaskOrder?: number;
  blocksParent?: boolean;
};

type DependencyRow = { id: string; title: string; state: TaskState };

/** 400 naming `field.<index>` for each dependency id that is unknown or already failed/cancelled. */
export async function checkDependencies(
  tx: Tx,
  ids: readonly string[],
  field: string,
): Promise<DependencyRow[]> {
  if (ids.length === 0) return [];
  // Share-locked: a dependency completing concurrently either commits before this read, or waits
  // until this task (and its edge) is committed and then finds it among its waiting dependents.
  const rows = await tx.$queryRaw<DependencyRow[]>`
    SELECT id, title, state FROM tasks WHERE id = ANY(${[...ids]}::uuid[]) ORDER BY id FOR SHARE`;
  const byId = new Map(rows.map((row) => [row.id, row]));
  const details: { path: string; reason: string }[] = [];
  ids.forEach((id, index) => {
    const row = byId.get(id);
    if (!row) details.push({ path: `${field}.${index}`, reason: `task ${id} not found` });
    else if (row.state === "failed" || row.state === "cancelled") {
      details.push({ path: `${field}.${index}`, reason: `task ${id} is ${row.state}; retry it first` });
    }
  });
  if (details.length > 0) {
    const code = "VALIDATION_FAILED";
    throw new AppError(400, code, `Invalid ${details.map((detail) => detail.path).join(", ")}`, details);
  }
  return rows;
}

export class TaskFactory {
  private readonly outbox: Outbox;

  constructor(options: { outbox: Outbox }) {
    this.outbox = options.outbox;
  }

  /**
   * Creates the task in `queued`, `waiting_on_deps` (unmet dependencies) or `pending` (a step
   * behind others: `hold`). The initial state is one the table allows from `pending`.
   */
  async insert(
    work: Work,
    fields: NewTask,
    options: { dependsOn: readonly string[]; actor: Actor; hold?: boolean; dependencyField?: string },
  ): Promise<TaskRow & { runs: Run[] }> {
    const { tx } = work;
    const deps = await checkDependencies(tx, options.dependsOn, options.dependencyField ?? "body.dependsOn");
    const verdict = dependencyVerdict(deps.map((dep) => dep.state));
    const state: TaskState = options.hold ? "pending" : verdict === "met" ? "queued" : "waiting_on_deps";
    if (state !== "pending" && !canTransition("pending", state))
      throw new Error(`bad initial state ${state}`);

    const data: Prisma.TaskUncheckedCreateInput = {
      ...fields,
      metadata: fields.metadata as Prisma.InputJsonObject,
      state,
      attempts: 1,
    };
    const task = await tx.task.create({ data });
    if (deps.length > 0) {
      await tx.taskDependency.createMany({
        data: deps.map((dep) => ({ taskId: task.id, dependsOnId: dep.id })),
      });
    }
    const run = await tx.run.create({ data: { taskId: task.id, attempt: 1, kind: "initial" } });
    const trigger =
      state === "pending"
        ? "task_created"
        : state === "queued"
          ? "task_submitted"
          : "task_submitted_with_deps";
    await tx.taskEvent.create({
      data: {
        taskId: task.id,
        fromState: null,
        toState: state,
        trigger,
        actor: actorName(options.actor),
        userId: actorUserId(options.actor),
        runId: run.id,
      },
    });
    await this.outbox.record(tx, {
      entity: "task",
      entityId: task.id,
      event: "created",
      data: {
        taskId: task.id,
        title: task.title,
        state,
        taskType: task.taskType,
        parentId: task.parentId,
        repoUrl: task.repoUrl,
        repoBranch: task.repoBranch,
        agentType: task.agentType,
        priority: task.priority,
        createdBy: task.createdBy,
      },
    });
    if (state === "queued") work.after.wakeup = true;
    return { ...task, runs: [run] };
  }
}
