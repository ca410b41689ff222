// Task intake and the user's actions on tasks: create (idempotent), edit, delete, cancel/retry/
// resume/force-restart/force-redo, bulk actions and reorder. Every change of state goes through
// TaskMachine.transition inside one TaskUnitOfWork transaction.
import { createHash } from "node:crypto";
import { runBranchName, type CreateTaskInput, type UpdateTaskInput } from "@optio/contracts";
import {
  ACTION_RULES,
  BULK_CANCEL_STATES,
  BULK_RETRY_STATES,
  DEFAULT_PRIORITY,
  DEFAULT_RESUME_PROMPT,
  NOT_STARTED_STATES,
  CAPS_EDITABLE_STATES,
  dependencyVerdict,
  isActive,
  reorderSlots,
  type ActionRule,
  type TaskAction,
  type TaskState,
} from "@optio/core";
import type { PrismaClient, Prisma, Tx } from "../db/prisma";
import { AppError, conflict } from "../errors";
import type { Outbox } from "../events/outbox";
import type { Run, Task as TaskRow } from "../generated/prisma/client";
import type { IntakeBatcher } from "./intake-batcher";
import type { RepoUrlGuard } from "./repo-url-guard";
import { checkDependencies, insertEdges, insertTask, type NewTask } from "./task-factory";
import {
  invalidTransition,
  SYSTEM,
  taskNotFound,
  type Actor,
  type TaskMachine,
  type Work,
} from "./task-machine";
import type { TaskUnitOfWork } from "./task-work";
import { LATEST_RUN } from "./task.view";

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** Bulk actions re-query for tasks that moved into a matching state; bounded against a livelock. */
const BULK_MAX_PASSES = 5;

/** Canonical JSON (sorted keys) → SHA-256: the same body in any key order has the same hash. */
export function requestHash(value: unknown): string {
  const canonical = (input: unknown): unknown => {
    if (Array.isArray(input)) return input.map(canonical);
    if (input && typeof input === "object") {
      return Object.fromEntries(
        Object.keys(input as object)
          .sort()
          .filter((key) => (input as Record<string, unknown>)[key] !== undefined)
          .map((key) => [key, canonical((input as Record<string, unknown>)[key])]),
      );
    }
    return input;
  };
  return createHash("sha256")
    .update(JSON.stringify(canonical(value)))
    .digest("hex");
}

export type CreateResult = { task: TaskRow & { runs: Run[] }; replayed: boolean };

export class TaskService {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;
  private readonly urlGuard: RepoUrlGuard;
  private readonly intake: IntakeBatcher;

  constructor(options: {
    prisma: PrismaClient;
    outbox: Outbox;
    machine: TaskMachine;
    work: TaskUnitOfWork;
    urlGuard: RepoUrlGuard;
    intake: IntakeBatcher;
  }) {
    this.prisma = options.prisma;
    this.outbox = options.outbox;
    this.machine = options.machine;
    this.work = options.work;
    this.urlGuard = options.urlGuard;
    this.intake = options.intake;
  }

  /**
   * POST /api/tasks. With an idempotency key: same key + body within 24 h → the same task.
   * `userId` null: Optio created it on its own (an imported issue); the system is the actor.
   */
  async create(
    input: CreateTaskInput,
    userId: string | null,
    idempotencyKey?: string,
  ): Promise<CreateResult> {
    const { repoUrl } = await this.urlGuard.check(input.repoUrl);
    const actor: Actor = userId ? { kind: "user", userId } : SYSTEM;
    const fields: NewTask = {
      title: input.title,
      prompt: input.prompt,
      repoUrl,
      repoBranch: input.repoBranch ?? null,
      agentType: input.agentType ?? null,
      model: input.model ?? null,
      priority: input.priority ?? DEFAULT_PRIORITY,
      maxAttempts: input.maxAttempts ?? null,
      maxCostUsd: input.maxCostUsd ?? null,
      maxTurns: input.maxTurns ?? null,
      metadata: input.metadata ?? {},
      requiredLabels: input.requiredLabels,
      createdBy: userId,
      taskType: "coding",
    };
    if (!idempotencyKey && input.dependsOn.length === 0) {
      // The common case: no interactive transaction; concurrent creates share one statement.
      return {
        task: await this.intake.create({ fields, options: { state: "queued", actor } }),
        replayed: false,
      };
    }
    // Idempotency keys belong to a user.
    const keyed =
      idempotencyKey && userId
        ? { userId, key: idempotencyKey, hash: requestHash({ ...input, repoUrl }) }
        : null;
    return this.work.run(async (work) => {
      const { tx } = work;
      if (keyed) {
        const replay = await this.replay(tx, keyed.userId, keyed.key, keyed.hash);
        if (replay) return { task: replay, replayed: true };
      }
      const deps = await checkDependencies(tx, input.dependsOn, "body.dependsOn");
      const verdict = dependencyVerdict(deps.map((dep) => dep.state));
      const state = verdict === "met" ? "queued" : "waiting_on_deps";
      const task = await insertTask(tx, fields, { state, actor });
      await insertEdges(tx, task.id, input.dependsOn);
      if (state === "queued") work.after.wakeup = true;
      if (keyed) {
        await tx.idempotencyKey.create({
          data: { userId: keyed.userId, key: keyed.key, requestHash: keyed.hash, taskId: task.id },
        });
      }
      return { task, replayed: false };
    });
  }

  /** The task an earlier request with this key created, 422 for a different body, or null. */
  private async replay(
    tx: Tx,
    userId: string,
    key: string,
    hash: string,
  ): Promise<(TaskRow & { runs: Run[] }) | null> {
    // Serialises requests with the same key: the second waits, then sees the first's row.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${userId}:${key}`}, 0))`;
    const existing = await tx.idempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
    if (!existing) return null;
    if (existing.createdAt.getTime() < Date.now() - IDEMPOTENCY_TTL_MS) {
      await tx.idempotencyKey.delete({ where: { userId_key: { userId, key } } });
      return null;
    }
    if (existing.requestHash !== hash) {
      throw new AppError(
        422,
        "IDEMPOTENCY_KEY_REUSED",
        "Idempotency-Key was already used with a different body",
        [
          {
            path: "headers.idempotency-key",
            reason: "already used with a different body",
            taskId: existing.taskId,
          },
        ],
      );
    }
    return tx.task.findUniqueOrThrow({ where: { id: existing.taskId }, include: LATEST_RUN });
  }

  /** PATCH /api/tasks/:id: only before the task has started, or only its caps between runs. */
  async update(taskId: string, changes: UpdateTaskInput, actor: Actor): Promise<TaskRow> {
    return this.work.run(async ({ tx }) => {
      const current = await this.machine.lock(tx, taskId);
      if (!current) throw taskNotFound();
      const capsOnly = Object.entries(changes).every(
        ([key, value]) => value === undefined || key === "maxCostUsd" || key === "maxTurns",
      );
      const editable = capsOnly ? CAPS_EDITABLE_STATES : NOT_STARTED_STATES;
      if (!editable.includes(current.state)) throw invalidTransition(taskId, current.state, "edit");
      const { metadata, ...rest } = changes;
      const task = await tx.task.update({
        where: { id: taskId },
        data: { ...rest, ...(metadata ? { metadata: metadata as Prisma.InputJsonObject } : {}) },
      });
      const fields = Object.keys(changes).filter(
        (key) => changes[key as keyof UpdateTaskInput] !== undefined,
      );
      await this.outbox.record(tx, {
        entity: "task",
        entityId: taskId,
        event: "updated",
        data: { taskId, fields, userId: actor.kind === "user" ? actor.userId : null },
      });
      return task;
    });
  }

  /**
   * DELETE /api/tasks/:id: refused while a run is active (its own or a subtask's), and while tasks
   * wait on it unless `force`, which fails those dependents first.
   */
  async delete(taskId: string, force: boolean, actor: Actor): Promise<{ failedDependents: string[] }> {
    return this.work.run(async (work) => {
      const { tx } = work;
      const rows = await tx.$queryRaw<{ id: string; state: TaskState }[]>`
        SELECT id, state FROM tasks WHERE id = ${taskId}::uuid OR parent_id = ${taskId}::uuid ORDER BY id FOR UPDATE`;
      const task = rows.find((row) => row.id === taskId);
      if (!task) throw taskNotFound();
      const active = rows.find((row) => isActive(row.state));
      if (active) {
        throw invalidTransition(
          taskId,
          active.state,
          active.id === taskId ? "delete" : "delete (a subtask is active)",
        );
      }
      const waiting = await tx.taskDependency.findMany({
        where: { dependsOnId: taskId, task: { state: { in: ["pending", "waiting_on_deps"] } } },
        select: { taskId: true },
        orderBy: { taskId: "asc" },
      });
      const dependents = waiting
        .map((edge) => edge.taskId)
        .filter((id) => !rows.some((row) => row.id === id));
      if (dependents.length > 0 && !force) {
        throw conflict(
          "CONFLICT",
          `${dependents.length} task(s) depend on this task; use ?force=true to fail them`,
          [...dependents.map((id) => ({ path: "dependents", reason: `task ${id} waits on it`, taskId: id }))],
        );
      }
      for (const dependentId of dependents) {
        await this.machine.transition(work, {
          taskId: dependentId,
          to: "failed",
          trigger: "dependency_deleted",
          message: `Dependency ${taskId} was deleted`,
          actor,
        });
      }
      for (const row of rows) {
        await this.outbox.record(tx, {
          entity: "task",
          entityId: row.id,
          event: "deleted",
          data: {
            taskId: row.id,
            force,
            failedDependents: row.id === taskId ? dependents : [],
            userId: actor.kind === "user" ? actor.userId : null,
          },
        });
      }
      await tx.task.delete({ where: { id: taskId } });
      return { failedDependents: dependents };
    });
  }

  /** POST /api/tasks/:id/<action>. */
  async act(
    taskId: string,
    action: TaskAction,
    actor: Actor,
    options: { prompt?: string; trigger?: string } = {},
  ): Promise<TaskRow> {
    return this.work.run((work) => this.actIn(work, taskId, action, ACTION_RULES[action], actor, options));
  }

  /** An action by its rule (also the resume a message causes) in the caller's transaction. */
  async actIn(
    work: Work,
    taskId: string,
    action: string,
    rule: ActionRule,
    actor: Actor,
    options: { prompt?: string; trigger?: string } = {},
  ): Promise<TaskRow> {
    const trigger = options.trigger ?? rule.trigger;
    if (rule.to === "cancelled") {
      return this.machine.transition(work, {
        taskId,
        to: "cancelled",
        trigger,
        actor,
        accepted: rule.from,
        action,
      });
    }
    const { tx } = work;
    // Dependencies first, then the task: the order in which a completing dependency releases it.
    const deps = await this.machine.lockDependencyStates(tx, taskId);
    const current = await this.machine.lock(tx, taskId);
    if (!current) throw taskNotFound();
    if (!rule.from.includes(current.state)) throw invalidTransition(taskId, current.state, action);
    const verdict = dependencyVerdict(deps.map((dep) => dep.state));
    if (verdict === "broken") {
      const broken = deps.find((dep) => dep.state === "failed" || dep.state === "cancelled")!;
      throw conflict(
        "CONFLICT",
        `Dependency "${broken.title}" (${broken.id}) is ${broken.state}; retry it first`,
        [{ path: "dependencies", reason: `task ${broken.id} is ${broken.state}`, taskId: broken.id }],
      );
    }
    const data: Prisma.TaskUpdateManyMutationInput = {};
    if (!rule.keepSession) data.sessionId = null;
    if (rule.discardResults) {
      Object.assign(data, {
        // A new branch: the old one (and its PR, closed by the PR loop) is not continued.
        branchName: `${runBranchName(current.id, current.title)}-redo${current.attempts + 1}`,
        prUrl: null,
        prNumber: null,
        resultSummary: null,
        startedAt: null,
      });
    }
    // The PR loop: a human acted, so its fix-up budget starts again; a redo abandons the old PR.
    await tx.prWatch.updateMany({
      where: { taskId },
      data: rule.discardResults ? { closeRequested: true } : { autoResumes: 0 },
    });
    const prompt = rule.keepSession ? (options.prompt ?? DEFAULT_RESUME_PROMPT) : (options.prompt ?? null);
    return this.machine.transition(work, {
      taskId,
      to: verdict === "met" ? "queued" : "waiting_on_deps",
      trigger,
      actor,
      accepted: rule.from,
      action,
      message: prompt ? prompt.slice(0, 200) : null,
      data,
      newRun: {
        kind: rule.runKind!,
        prompt,
        resumeSessionId: rule.keepSession ? current.sessionId : null,
      },
    });
  }

  /**
   * Bulk retry of failed tasks / cancel of active ones, each through the same transition. A task is
   * decided on the state it has when its turn comes (a claim a moment earlier does not make a cancel
   * skip it), and passes repeat until no task that existed when the batch began still matches, so
   * one that moved into a matching state meanwhile is not left behind. `total`: tasks considered;
   * `affected`: tasks changed (the others had ended, been deleted or have a broken dependency).
   */
  async bulk(
    kind: "retry-failed" | "cancel-active",
    actor: Actor,
  ): Promise<{ affected: number; total: number }> {
    const states = kind === "retry-failed" ? BULK_RETRY_STATES : BULK_CANCEL_STATES;
    const action: TaskAction = kind === "retry-failed" ? "retry" : "cancel";
    const trigger = kind === "retry-failed" ? "bulk_retry" : "bulk_cancel";
    const began = new Date();
    const considered = new Set<string>();
    let affected = 0;
    for (let pass = 0; pass < BULK_MAX_PASSES; pass++) {
      const tasks = await this.prisma.task.findMany({
        where: { state: { in: [...states] }, createdAt: { lte: began }, id: { notIn: [...considered] } },
        select: { id: true },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      });
      if (tasks.length === 0) break;
      for (const { id } of tasks) {
        considered.add(id);
        try {
          await this.act(id, action, actor, { trigger });
          affected++;
        } catch (err) {
          if (!(err instanceof AppError) || err.statusCode >= 500) throw err;
        }
      }
    }
    return { affected, total: considered.size };
  }

  /** POST /api/tasks/reorder: the listed not-started tasks run in the listed order. */
  async reorder(taskIds: string[]): Promise<{ id: string; priority: number; position: number }[]> {
    return this.work.run(async ({ tx }) => {
      const rows = await tx.$queryRaw<{ id: string; state: TaskState; priority: number; position: number }[]>`
        SELECT id, state, priority, position FROM tasks WHERE id = ANY(${taskIds}::uuid[]) ORDER BY id FOR UPDATE`;
      const byId = new Map(rows.map((row) => [row.id, row]));
      const missing = taskIds.flatMap((id, index) => (byId.has(id) ? [] : [{ index, id }]));
      if (missing.length > 0) {
        throw new AppError(
          404,
          "TASK_NOT_FOUND",
          `Task not found: ${missing.map((entry) => entry.id).join(", ")}`,
          missing.map(({ index, id }) => ({ path: `body.taskIds.${index}`, reason: `task ${id} not found` })),
        );
      }
      const started = rows.find((row) => !NOT_STARTED_STATES.includes(row.state));
      if (started) throw invalidTransition(started.id, started.state, "reorder");
      const slots = reorderSlots(taskIds, byId);
      const result = taskIds.map((id) => ({ id, ...slots.get(id)! }));
      for (const entry of result) {
        const before = byId.get(entry.id)!;
        if (before.priority === entry.priority && before.position === entry.position) continue;
        await tx.task.update({
          where: { id: entry.id },
          data: { priority: entry.priority, position: entry.position },
        });
        await this.outbox.record(tx, {
          entity: "task",
          entityId: entry.id,
          event: "reordered",
          data: { taskId: entry.id, priority: entry.priority, position: entry.position },
        });
      }
      return result;
    });
  }
}
