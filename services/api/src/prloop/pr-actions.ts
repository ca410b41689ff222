// Applies the reconciler's state-changing actions to a task inside the caller's transaction:
// transitions through the TaskMachine, fix-up runs, review subtasks. Platform writes (merge, review
// post) are not done here: they happen after commit (PrReconciler), keyed for idempotency.
import {
  PR_LOOP_DEFAULTS,
  type PrAction,
  type PrLoopSettings,
  type PrTask,
  type TaskState,
} from "@optio/core";
import type { Tx } from "../db/prisma";
import type { PrWatch, Repo, Task as TaskRow } from "../generated/prisma/client";
import type { SideEffectStore } from "../side-effects/side-effect.store";
import type { SubtaskService } from "../tasks/subtask.service";
import { SYSTEM, type TaskMachine, type Work } from "../tasks/task-machine";

/** The repo's PR-loop settings (the defaults for a repository that is not connected). */
export function prLoopSettings(repo: Repo | null): PrLoopSettings {
  if (!repo) return { ...PR_LOOP_DEFAULTS };
  // The columns carry the settings' names; the enums were validated when they were written.
  const keys = Object.keys(PR_LOOP_DEFAULTS) as (keyof PrLoopSettings)[];
  return Object.fromEntries(keys.map((key) => [key, repo[key]])) as PrLoopSettings;
}

/** The task as the reconciler sees it, read inside the transaction. */
export async function prTaskView(tx: Tx, task: TaskRow, watch: PrWatch): Promise<PrTask> {
  const openBlockers = await tx.task.count({
    where: { parentId: task.id, blocksParent: true, state: { not: "completed" } },
  });
  return {
    state: task.state,
    autoResumes: watch.autoResumes,
    hasSession: task.sessionId !== null,
    review:
      watch.reviewSha && watch.reviewStatus
        ? { headSha: watch.reviewSha, status: watch.reviewStatus as NonNullable<PrTask["review"]>["status"] }
        : null,
    blockersDone: openBlockers === 0,
  };
}

export async function repoOf(tx: Tx, task: TaskRow): Promise<Repo | null> {
  if (task.repoId) return tx.repo.findUnique({ where: { id: task.repoId } });
  return tx.repo.findUnique({ where: { repoUrl: task.repoUrl } });
}

export class PrActionApplier {
  private readonly machine: TaskMachine;
  private readonly subtasks: SubtaskService;
  private readonly effects: SideEffectStore | undefined;

  constructor(options: { machine: TaskMachine; subtasks: SubtaskService; effects?: SideEffectStore }) {
    this.machine = options.machine;
    this.subtasks = options.subtasks;
    this.effects = options.effects;
  }

  /** Applies one action. A merge is returned to be carried out after commit. */
  async apply(
    work: Work,
    task: TaskRow,
    action: PrAction,
  ): Promise<Extract<PrAction, { type: "merge" }> | null> {
    const base = { taskId: task.id, actor: SYSTEM, accepted: [task.state] };
    switch (action.type) {
      case "complete":
        await this.complete(work, task, { trigger: action.trigger, accepted: [task.state] });
        return null;
      case "fail":
        await this.machine.transition(work, {
          ...base,
          to: "failed",
          trigger: action.trigger,
          message: `${action.code}: ${action.message}`,
        });
        return null;
      case "needs_attention":
        await this.machine.transition(work, {
          ...base,
          to: "needs_attention",
          trigger: action.trigger,
          message: `${action.code}: ${action.message}`,
        });
        return null;
      case "resume":
        await this.machine.transition(work, {
          ...base,
          to: "queued",
          trigger: action.trigger,
          message: `Fix-up run: ${action.problems.join(", ").replace(/_/g, " ")}`,
          data: action.keepSession ? {} : { sessionId: null },
          newRun: {
            kind: "resume",
            prompt: action.prompt,
            resumeSessionId: action.keepSession ? task.sessionId : null,
          },
        });
        await work.tx.prWatch.update({
          where: { taskId: task.id },
          data: { autoResumes: { increment: 1 } },
        });
        return null;
      case "review":
        await this.subtasks.reviewIn(work, task.id, SYSTEM);
        return null;
      case "merge":
        return action;
    }
  }

  /** The PR merged: the task completes, and the issue it was made from is told and closed. */
  async complete(
    work: Work,
    task: TaskRow,
    change: { trigger: string; accepted: TaskState[]; message?: string },
  ): Promise<void> {
    await this.machine.transition(work, { taskId: task.id, actor: SYSTEM, to: "completed", ...change });
    await this.closeIssue(work.tx, task);
  }

  /**
   * A task made from an issue, completed through its merged PR: the issue gets a comment and is
   * closed if still open. Ledger rows (performed after commit by the side-effect worker), so a
   * replayed merge never comments or closes twice.
   */
  private async closeIssue(tx: Tx, task: TaskRow): Promise<void> {
    const issueNumber = (task.metadata as { issueNumber?: unknown } | null)?.issueNumber;
    if (!this.effects || typeof issueNumber !== "number") return;
    const pr = task.prUrl ? ` (${task.prUrl})` : "";
    await this.effects.want(tx, {
      taskId: task.id,
      purpose: "issue_comment:completed",
      input: { issueNumber, body: `Optio's pull request for this issue was merged${pr}.` },
    });
    await this.effects.want(tx, { taskId: task.id, purpose: "close_issue", input: { issueNumber } });
  }
}
