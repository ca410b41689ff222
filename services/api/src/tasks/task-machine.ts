// The one function that changes a task's state, and the reactions a change sets off inside the same
// transaction (dependents released or failed, the next pipeline step queued, the parent told, open
// runs closed). Callers own the transaction (TaskUnitOfWork); signals to runners go out after commit.
import {
  canTransition,
  dependencyVerdict,
  effectsOfEntering,
  isTerminal,
  subtaskConsequences,
  TERMINAL_STATES,
  type RunKind,
  type TaskState,
} from "@optio/core";
import type { Prisma, Tx } from "../db/prisma";
import { AppError } from "../errors";
import type { Outbox } from "../events/outbox";
import type { Task as TaskRow } from "../generated/prisma/client";
import { runStore } from "../runs/run.store";
import { taskMessageStore } from "./task-messages.store";

/** Who caused a change: stored in task_events.actor (`user`, `system`, `runner:<id>`). */
export type Actor =
  { kind: "user"; userId: string } | { kind: "system" } | { kind: "runner"; runnerId: string };
export const SYSTEM: Actor = { kind: "system" };

export const actorName = (actor: Actor) =>
  actor.kind === "runner" ? `runner:${actor.runnerId}` : actor.kind;
export const actorUserId = (actor: Actor) => (actor.kind === "user" ? actor.userId : null);

/** What to tell runners once the transaction has committed. */
/** `cancelRuns`: claimed runs to stop, each told to the runner holding it (its run row's runner id). */
export type AfterCommit = {
  cancelRuns: { runId: string; attempt: number; runnerId: string }[];
  wakeup: boolean;
};

/** A transaction plus the signals it accumulates. */
export type Work = { tx: Tx; after: AfterCommit };

export type NewRun = { kind: RunKind; prompt?: string | null; resumeSessionId?: string | null };

export type TransitionRequest = {
  taskId: string;
  to: TaskState;
  trigger: string;
  actor: Actor;
  message?: string | null;
  /** The states the action accepts (default: every state the table lets reach `to`). */
  accepted?: readonly TaskState[];
  /** Names the action in 409 messages, e.g. "retry". */
  action?: string;
  /** More columns to set with the state (e.g. force-redo clearing the branch). */
  data?: Prisma.TaskUpdateManyMutationInput;
  /** Start a new run (attempt + 1) with the change. */
  newRun?: NewRun;
  runId?: string | null;
};

export function invalidTransition(taskId: string, state: TaskState, action: string): AppError {
  return new AppError(409, "INVALID_TRANSITION", `Cannot ${action} a task in state ${state}`, [
    { path: "state", reason: `task ${taskId} is ${state}`, state },
  ]);
}

/** The columns of a task read under its row lock. */
export type LockedTask = Pick<TaskRow, "id" | "state" | "title" | "attempts" | "startedAt" | "sessionId">;

export const taskNotFound = () => new AppError(404, "TASK_NOT_FOUND", "Task not found");

export class TaskMachine {
  private readonly outbox: Outbox;
  private readonly now: () => Date;

  constructor(options: { outbox: Outbox; now?: () => Date }) {
    this.outbox = options.outbox;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Locks the task row, decides on the state it really has (a claim or a report that committed a
   * moment ago is seen, never raced), writes the change with its event row and outbox event, then
   * runs the reactions. An action not accepted from the current state is a 409 naming that state.
   */
  async transition(work: Work, request: TransitionRequest): Promise<TaskRow> {
    const { tx } = work;
    const { taskId, to } = request;
    const action = request.action ?? `move to ${to}`;
    const current = await this.lock(tx, taskId);
    if (!current) throw taskNotFound();
    const from = current.state;
    if ((request.accepted && !request.accepted.includes(from)) || !canTransition(from, to)) {
      throw invalidTransition(taskId, from, action);
    }

    const now = this.now();
    const task = await tx.task.update({
      where: { id: taskId },
      data: {
        ...request.data,
        state: to,
        stateVersion: { increment: 1 },
        ...effectsOfEntering(to, current, now, request.message),
        ...(request.newRun ? { attempts: { increment: 1 } } : {}),
      },
    });

    let runId = request.runId ?? null;
    if (request.newRun) {
      const run = await runStore.createAttempt(tx, { taskId, attempt: task.attempts, ...request.newRun });
      // The messages the agent has not had yet go before the new run's prompt.
      const { kind, prompt } = request.newRun;
      const replaces = request.runId ?? null;
      const carried = await taskMessageStore.foldIntoRun(
        tx,
        { taskId, runId: run.id, kind, replaces, agentType: task.agentType },
        prompt ?? task.prompt,
        now,
      );
      if (carried !== null) await runStore.setPrompt(tx, run.id, carried);
      runId = run.id;
    }
    await this.record(work, task, from, request, runId);
    await this.react(work, task, request.message ?? null);
    return task;
  }

  /**
   * Takes the task's row lock for the rest of the transaction and reads what a decision needs.
   * Claims skip locked rows, so a user action never waits behind a claim for long, and a claim
   * never takes a task an action is changing.
   */
  async lock(tx: Tx, taskId: string): Promise<LockedTask | null> {
    const [row] = await tx.$queryRaw<LockedTask[]>`
      SELECT id, state, title, attempts, started_at AS "startedAt", session_id AS "sessionId"
        FROM tasks WHERE id = ${taskId}::uuid FOR UPDATE`;
    return row ?? null;
  }

  private async record(
    work: Work,
    task: TaskRow,
    from: TaskState,
    request: TransitionRequest,
    runId: string | null,
  ) {
    const event = {
      taskId: task.id,
      fromState: from,
      toState: task.state,
      trigger: request.trigger,
      message: request.message ?? null,
      actor: actorName(request.actor),
      userId: actorUserId(request.actor),
      runId,
    };
    await work.tx.taskEvent.create({ data: event });
    await this.outbox.record(work.tx, {
      entity: "task",
      entityId: task.id,
      event: "state_changed",
      data: { ...event, stateVersion: task.stateVersion },
    });
  }

  private async react(work: Work, task: TaskRow, message: string | null): Promise<void> {
    const to = task.state;
    if (to === "queued") work.after.wakeup = true;
    if (isTerminal(to)) await this.closeOpenRuns(work, task, message);
    if (to === "completed") await this.releaseDependents(work, task);
    if (to === "failed" || to === "cancelled") await this.failWaitingDependents(work, task);
    if (to === "cancelled") await this.cancelReviews(work, task);
    if (task.parentId) await this.applySubtaskRules(work, task);
  }

  /** A task that ends closes its runs; an active one is told to stop (and its reports are refused). */
  private async closeOpenRuns(work: Work, task: TaskRow, message: string | null) {
    const state = task.state === "completed" ? "succeeded" : task.state === "failed" ? "failed" : "cancelled";
    const open = await runStore.closeOpen(work.tx, task.id, {
      state,
      at: this.now(),
      message: state === "cancelled" ? (message ?? `task ${task.state}`) : message,
    });
    if (task.state === "completed") return;
    for (const run of open) {
      if (run.state !== "queued" && run.runnerId)
        work.after.cancelRuns.push({ runId: run.id, attempt: run.attempt, runnerId: run.runnerId });
    }
  }

  /** Dependents waiting on a task that completed are queued once all their dependencies are met. */
  private async releaseDependents(work: Work, task: TaskRow) {
    const waiting = await work.tx.taskDependency.findMany({
      where: { dependsOnId: task.id, task: { state: "waiting_on_deps" } },
      select: { taskId: true },
      orderBy: { taskId: "asc" },
    });
    for (const { taskId } of waiting) {
      // Lock the dependent first: two dependencies completing at once then evaluate it in turn,
      // and the second sees the first's committed state.
      const locked = await work.tx.$queryRaw<{ state: TaskState }[]>`
        SELECT state FROM tasks WHERE id = ${taskId}::uuid FOR UPDATE`;
      if (locked[0]?.state !== "waiting_on_deps") continue;
      const verdict = dependencyVerdict(await this.dependencyStates(work.tx, taskId));
      if (verdict === "met") {
        await this.transition(work, { taskId, to: "queued", trigger: "dependencies_met", actor: SYSTEM });
      }
    }
  }

  /** Waiting dependents of a failed or cancelled task fail with the reason (recursively). */
  private async failWaitingDependents(work: Work, task: TaskRow) {
    const waiting = await work.tx.taskDependency.findMany({
      where: { dependsOnId: task.id, task: { state: "waiting_on_deps" } },
      select: { taskId: true },
      orderBy: { taskId: "asc" },
    });
    const what = task.state === "failed" ? "failed" : "was cancelled";
    for (const { taskId } of waiting) {
      await this.transitionIfStill(work, taskId, "waiting_on_deps", {
        to: "failed",
        trigger: "dependency_failed",
        message: `Dependency "${task.title}" (${task.id}) ${what}`,
      });
    }
  }

  /**
   * A cancelled task's reviews still waiting or running are cancelled too (their runs stopped): no
   * one follows the PR they review any more. A cancelled subtask does not move its parent.
   */
  private async cancelReviews(work: Work, task: TaskRow) {
    const live = await work.tx.task.findMany({
      where: { parentId: task.id, taskType: "review", state: { notIn: [...TERMINAL_STATES] } },
      select: { id: true, state: true },
      orderBy: { id: "asc" },
    });
    for (const review of live) {
      await this.transitionIfStill(work, review.id, review.state, {
        to: "cancelled",
        trigger: "parent_cancelled",
        message: `Task "${task.title}" (${task.id}) was cancelled`,
      });
    }
  }

  private async applySubtaskRules(work: Work, task: TaskRow) {
    const parentId = task.parentId!;
    const parent = await work.tx.$queryRaw<{ state: TaskState }[]>`
      SELECT state FROM tasks WHERE id = ${parentId}::uuid FOR UPDATE`;
    if (!parent[0]) return;
    const siblings = await work.tx.task.findMany({ where: { parentId }, select: SUBTASK_VIEW });
    const changed = siblings.find((sibling) => sibling.id === task.id);
    if (!changed) return;
    const consequence = subtaskConsequences(changed, siblings, parent[0].state);
    if (consequence.queueStepId) {
      await this.enqueue(work, consequence.queueStepId, "previous_step_completed", SYSTEM);
    }
    if (consequence.parent) {
      await this.transitionIfStill(work, parentId, parent[0].state, consequence.parent);
    }
  }

  /** Moves a `pending` task on: queued, waiting_on_deps, or failed when a dependency is broken. */
  async enqueue(work: Work, taskId: string, trigger: string, actor: Actor): Promise<TaskRow> {
    const states = await this.lockDependencyStates(work.tx, taskId);
    const verdict = dependencyVerdict(states.map((dep) => dep.state));
    if (verdict === "broken") {
      const broken = states.find((dep) => dep.state === "failed" || dep.state === "cancelled")!;
      return this.transition(work, {
        taskId,
        to: "failed",
        trigger: "dependency_failed",
        message: `Dependency "${broken.title}" (${broken.id}) is ${broken.state}`,
        actor: SYSTEM,
      });
    }
    const to = verdict === "met" ? "queued" : "waiting_on_deps";
    return this.transition(work, { taskId, to, trigger, actor });
  }

  private async transitionIfStill(
    work: Work,
    taskId: string,
    expected: TaskState,
    change: { to: TaskState; trigger: string; message: string },
  ) {
    try {
      await this.transition(work, { taskId, ...change, accepted: [expected], actor: SYSTEM });
    } catch (err) {
      // Someone else moved it first: their change stands.
      if (!(err instanceof AppError && err.code === "INVALID_TRANSITION")) throw err;
    }
  }

  /** States of a task's dependencies (no locks: see releaseDependents). */
  async dependencyStates(tx: Tx, taskId: string): Promise<TaskState[]> {
    const rows = await tx.$queryRaw<{ state: TaskState }[]>`
      SELECT t.state FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id WHERE d.task_id = ${taskId}::uuid`;
    return rows.map((row) => row.state);
  }

  /**
   * A task's dependencies, share-locked in id order: a dependency completing concurrently either
   * commits before this read, or waits for this transaction and then sees its result.
   */
  async lockDependencyStates(
    tx: Tx,
    taskId: string,
  ): Promise<{ id: string; title: string; state: TaskState }[]> {
    return tx.$queryRaw<{ id: string; title: string; state: TaskState }[]>`
      SELECT t.id, t.title, t.state FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id
       WHERE d.task_id = ${taskId}::uuid ORDER BY t.id FOR SHARE OF t`;
  }
}

export const SUBTASK_VIEW = {
  id: true,
  title: true,
  taskType: true,
  subtaskOrder: true,
  blocksParent: true,
  state: true,
} as const satisfies Prisma.TaskSelect;
