// Inserting tasks (top-level or subtasks) in their initial state with their first run, their creation
// event row and their `created` outbox event: ONE SQL statement (data-modifying CTEs) for any number
// of tasks, so the common intake path needs no interactive transaction and concurrent creates share
// one round trip (on the pg pool: db/hot-sql.ts). Dependency edges are added by the caller inside its
// transaction.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { subjects, type AgentType, type TaskType } from "@optio/contracts";
import { canTransition, type TaskState } from "@optio/core";
import { inTransaction } from "../db/hot-sql";
import type { PrismaClient, Tx } from "../db/prisma";
import { AppError } from "../errors";
import { Prisma, type Run, type Task as TaskRow } from "../generated/prisma/client";
import { actorName, actorUserId, type Actor } from "./task-machine";
import { taskAndRunSelect, toTaskWithRun } from "./task-rows";

/**
 * A new task. Null repoBranch/agentType/maxAttempts: the connected repo's setting, else the default;
 * null (or absent) maxCostUsd/maxTurns: the connected repo's, else no cap.
 */
export type NewTask = {
  title: string;
  prompt: string;
  repoUrl: string;
  repoBranch: string | null;
  agentType: AgentType | null;
  model: string | null;
  priority: number;
  maxAttempts: number | null;
  maxCostUsd?: number | null;
  maxTurns?: number | null;
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

/** One task to insert: its fields and its initial state and actor. */
export type TaskInsert = { fields: NewTask; options: InsertOptions };

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
  return (await insertTasks(db, [{ fields, options }]))[0]!;
}

const triggerOf = (state: TaskState) =>
  state === "pending" ? "task_created" : state === "queued" ? "task_submitted" : "task_submitted_with_deps";

/**
 * Where the statement runs: a Prisma client or the caller's transaction, or the pg pool (intake's
 * group commit: the statement prepared once per connection, its BEGIN and COMMIT in its one message).
 */
export type InsertTarget = PrismaClient | Tx | pg.Pool;

const runOn = (target: InsertTarget, statement: Prisma.Sql) =>
  target instanceof pg.Pool
    ? inTransaction(target, (tx) => tx.commitWith(statement))
    : target.$queryRaw<Record<string, unknown>[]>(statement);

/**
 * Inserts many tasks, each with run #1, its history row and its `created` outbox event, in ONE SQL
 * statement (data-modifying CTEs over arrays, one round trip and one commit whatever the count):
 * the group commit of intake. The results are in the order of `inserts`. One row the database
 * refuses fails the statement: the caller retries the rows one by one (see IntakeBatcher).
 */
export async function insertTasks(db: InsertTarget, inserts: readonly TaskInsert[]): Promise<Created[]> {
  for (const { options } of inserts) {
    if (options.state !== "pending" && !canTransition("pending", options.state)) {
      throw new Error(`bad initial state ${options.state}`);
    }
  }
  const column = <T>(pick: (insert: TaskInsert) => T): T[] => inserts.map(pick);
  const ids = column(() => randomUUID());
  const runIds = column(() => randomUUID());
  const rows = await runOn(
    db,
    Prisma.sql`
    WITH input AS (
      SELECT * FROM unnest(
        ${ids}::uuid[], ${runIds}::uuid[], ${column(() => randomUUID())}::uuid[],
        ${column(() => randomUUID())}::uuid[],
        ${ids.map((id) => subjects.entityEvent("task", id, "created"))}::text[],
        ${column((i) => i.fields.title)}::text[], ${column((i) => i.fields.prompt)}::text[],
        ${column((i) => i.fields.repoUrl)}::text[], ${column((i) => i.fields.repoBranch)}::text[],
        ${column((i) => i.fields.agentType)}::text[], ${column((i) => i.fields.model)}::text[],
        ${column((i) => i.fields.priority)}::int[], ${column((i) => i.fields.maxAttempts)}::int[],
        ${column((i) => i.fields.maxCostUsd ?? null)}::float8[], ${column((i) => i.fields.maxTurns ?? null)}::int[],
        ${column((i) => JSON.stringify(i.fields.metadata))}::text[],
        ${column((i) => JSON.stringify(i.fields.requiredLabels ?? []))}::text[], ${column((i) => i.options.state)}::text[],
        ${column((i) => i.fields.taskType)}::text[], ${column((i) => i.fields.parentId ?? null)}::uuid[],
        ${column((i) => i.fields.subtaskOrder ?? 0)}::int[], ${column((i) => i.fields.blocksParent ?? false)}::boolean[],
        ${column((i) => i.fields.createdBy)}::uuid[], ${column((i) => triggerOf(i.options.state))}::text[],
        ${column((i) => actorName(i.options.actor))}::text[], ${column((i) => actorUserId(i.options.actor))}::uuid[]
      ) WITH ORDINALITY AS i(id, run_id, event_id, outbox_id, subject, title, prompt, repo_url, repo_branch,
                            agent_type, model, priority, max_attempts, max_cost_usd, max_turns, metadata, required_labels, state, task_type, parent_id,
                            subtask_order, blocks_parent, created_by, trigger, actor, user_id, ord)
    ), task AS (
      INSERT INTO tasks (id, title, prompt, repo_url, repo_id, repo_branch, agent_type, model, priority,
                         max_attempts, max_cost_usd, max_turns, metadata, required_labels, state, task_type, parent_id, subtask_order, blocks_parent,
                         created_by, attempts, updated_at)
      SELECT i.id, i.title, i.prompt, i.repo_url, repo.id, COALESCE(i.repo_branch, repo.default_branch, 'main'),
             COALESCE(i.agent_type, repo.default_agent_type, 'claude'), i.model, i.priority,
             COALESCE(i.max_attempts, repo.max_attempts, 3), COALESCE(i.max_cost_usd, repo.max_cost_usd),
             COALESCE(i.max_turns, repo.max_turns), i.metadata::jsonb,
             ARRAY(SELECT jsonb_array_elements_text(i.required_labels::jsonb)), i.state::"TaskState",
             i.task_type::"TaskType", i.parent_id, i.subtask_order, i.blocks_parent, i.created_by, 1, now()
        FROM input i LEFT JOIN repos repo ON repo.repo_url = i.repo_url
       ORDER BY i.ord
      RETURNING *
    ), run AS (
      INSERT INTO runs (id, task_id, attempt, kind, state, updated_at)
      SELECT i.run_id, task.id, 1, 'initial', 'queued', now() FROM task JOIN input i ON i.id = task.id
      RETURNING *
    ), history AS (
      INSERT INTO task_events (id, task_id, from_state, to_state, trigger, actor, user_id, run_id)
      SELECT i.event_id, task.id, NULL, task.state, i.trigger, i.actor, i.user_id, i.run_id
        FROM task JOIN input i ON i.id = task.id ORDER BY i.ord
    ), announced AS (
      -- The row Outbox.record writes for a TaskCreatedEvent: the publisher moves it to JetStream.
      INSERT INTO outbox_events (id, subject, type, data)
      SELECT i.outbox_id, i.subject, 'task.created',
             jsonb_build_object('taskId', task.id, 'title', task.title, 'state', task.state,
                                'taskType', task.task_type, 'parentId', task.parent_id, 'repoUrl', task.repo_url,
                                'repoBranch', task.repo_branch, 'agentType', task.agent_type,
                                'priority', task.priority, 'createdBy', task.created_by)
        FROM task JOIN input i ON i.id = task.id ORDER BY i.ord
    )
    SELECT ${taskAndRunSelect("task", "run")} FROM task JOIN run ON run.task_id = task.id`,
  );
  const byId = new Map(rows.map((row) => [row.id as string, toTaskWithRun(row)]));
  return ids.map((id) => byId.get(id)!);
}

/** Adds the edges of a task created with dependencies (inside the creating transaction). */
export async function insertEdges(tx: Tx, taskId: string, dependsOn: readonly string[]): Promise<void> {
  if (dependsOn.length === 0) return;
  await tx.taskDependency.createMany({ data: dependsOn.map((dependsOnId) => ({ taskId, dependsOnId })) });
}
