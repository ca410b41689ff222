// Inserting a task (top-level or subtask) in its initial state with its first run, its creation
// event row and its `created` outbox event: ONE SQL statement (data-modifying CTEs), so the common
// intake path needs no interactive transaction and one round trip. Dependency edges are added by the
// caller inside its transaction.
import { randomUUID } from "node:crypto";
import { subjects, type AgentType, type TaskType } from "@optio/contracts";
import { canTransition, type TaskState } from "@optio/core";
import type { PrismaClient, Tx } from "../db/prisma";
import { AppError } from "../errors";
import type { Run, Task as TaskRow } from "../generated/prisma/client";
import { actorName, actorUserId, type Actor } from "./task-machine";
import { taskAndRunSelect, toTaskWithRun } from "./task-rows";

/** A new task. Null repoBranch/agentType/maxAttempts: the connected repo's setting, else the default. */
export type NewTask = {
  title: string;
  prompt: string;
  repoUrl: string;
  repoBranch: string | null;
  agentType: AgentType | null;
  model: string | null;
  priority: number;
  maxAttempts: number | null;
  metadata: Record<string, unknown>;
  /** Runner labels needed to claim it (the repo's are added at claim time). */
  requiredLabels?: string[];
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

export type Created = TaskRow & { runs: Run[] };

export type InsertOptions = { state: TaskState; actor: Actor };

/**
 * Creates the task in `options.state` (queued, waiting_on_deps, or pending for a step held behind
 * others: states the table allows from `pending`), with run #1, its history row and its outbox event.
 * `db` is the client (one atomic statement) or the caller's transaction.
 */
export async function insertTask(
  db: PrismaClient | Tx,
  fields: NewTask,
  options: InsertOptions,
): Promise<Created> {
  const { state } = options;
  if (state !== "pending" && !canTransition("pending", state)) throw new Error(`bad initial state ${state}`);
  const id = randomUUID();
  const runId = randomUUID();
  const trigger =
    state === "pending" ? "task_created" : state === "queued" ? "task_submitted" : "task_submitted_with_deps";
  const rows = await db.$queryRaw<Record<string, unknown>[]>`
    WITH repo AS (
      SELECT id, default_branch, default_agent_type, max_attempts FROM repos WHERE repo_url = ${fields.repoUrl}
    ), task AS (
      INSERT INTO tasks (id, title, prompt, repo_url, repo_id, repo_branch, agent_type, model, priority,
                         max_attempts, metadata, required_labels, state, task_type, parent_id, subtask_order, blocks_parent,
                         created_by, attempts, updated_at)
      VALUES (${id}::uuid, ${fields.title}, ${fields.prompt}, ${fields.repoUrl}, (SELECT id FROM repo),
              COALESCE(${fields.repoBranch}::text, (SELECT default_branch FROM repo), 'main'),
              COALESCE(${fields.agentType}::text, (SELECT default_agent_type FROM repo), 'claude'),
              ${fields.model}::text, ${fields.priority}::int,
              COALESCE(${fields.maxAttempts}::int, (SELECT max_attempts FROM repo), 3),
              ${JSON.stringify(fields.metadata)}::jsonb, ${fields.requiredLabels ?? []}::text[], ${state}::"TaskState", ${fields.taskType}::"TaskType",
              ${fields.parentId ?? null}::uuid, ${fields.subtaskOrder ?? 0}::int, ${fields.blocksParent ?? false},
              ${fields.createdBy}::uuid, 1, now())
      RETURNING *
    ), run AS (
      INSERT INTO runs (id, task_id, attempt, kind, state, updated_at)
      SELECT ${runId}::uuid, task.id, 1, 'initial', 'queued', now() FROM task
      RETURNING *
    ), history AS (
      INSERT INTO task_events (id, task_id, from_state, to_state, trigger, actor, user_id, run_id)
      SELECT ${randomUUID()}::uuid, task.id, NULL, task.state, ${trigger}, ${actorName(options.actor)},
             ${actorUserId(options.actor)}::uuid, ${runId}::uuid FROM task
    ), announced AS (
      -- The same row Outbox.record writes: the publisher moves it to JetStream.
      INSERT INTO outbox_events (id, subject, type, data)
      SELECT ${randomUUID()}::uuid, ${subjects.entityEvent("task", id, "created")}, 'task.created',
             jsonb_build_object('taskId', task.id, 'title', task.title, 'state', task.state,
                                'taskType', task.task_type, 'parentId', task.parent_id, 'repoUrl', task.repo_url,
                                'repoBranch', task.repo_branch, 'agentType', task.agent_type,
                                'priority', task.priority, 'createdBy', task.created_by)
        FROM task
    )
    SELECT ${taskAndRunSelect("task", "run")} FROM task, run`;
  return toTaskWithRun(rows[0]!);
}

/** Adds the edges of a task created with dependencies (inside the creating transaction). */
export async function insertEdges(tx: Tx, taskId: string, dependsOn: readonly string[]): Promise<void> {
  if (dependsOn.length === 0) return;
  await tx.taskDependency.createMany({ data: dependsOn.map((dependsOnId) => ({ taskId, dependsOnId })) });
}
