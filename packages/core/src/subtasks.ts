// Subtask rules. A task may have subtasks of three types:
// - child: independent work in the same repo; queued at once (dependencies permitting).
// - step: a sequential pipeline ordered among steps only: step n+1 is queued when step n completes;
//   a failed or cancelled step stops the pipeline (later steps stay `pending`).
// - review: reviews the parent's PR; its verdict counts (a failed review is a rejection).
// Steps and reviews always block the parent; children block it when created with blocksParent.
// Parent semantics: subtasks never hold back the parent's own run. A failed blocking subtask marks
// the parent `needs_attention` (when the parent has no active run and the table allows it); when
// every blocking subtask has completed, a parent in `needs_attention` completes. A parent in
// `pr_opened` completes only when its PR merges: the PR loop merges once its blockers are done.
import { canTransition, isActive, type TaskState } from "./task-states";

export const TASK_TYPES = ["coding", "child", "step", "review"] as const;
export type TaskType = (typeof TASK_TYPES)[number];
export type SubtaskType = Exclude<TaskType, "coding">;

export type SubtaskView = {
  id: string;
  title: string;
  taskType: TaskType;
  subtaskOrder: number;
  blocksParent: boolean;
  state: TaskState;
};

export function blocksParentByDefault(type: SubtaskType, requested?: boolean): boolean {
  return type === "child" ? (requested ?? false) : true;
}

/** Steps of a parent, in pipeline order. */
export function stepsInOrder<T extends SubtaskView>(subtasks: readonly T[]): T[] {
  return subtasks
    .filter((task) => task.taskType === "step")
    .sort((a, b) => a.subtaskOrder - b.subtaskOrder || a.id.localeCompare(b.id));
}

/**
 * The state a new subtask starts in (before dependencies are considered): a step waits (`pending`)
 * unless every earlier step has completed; any other subtask is queued.
 */
export function initialSubtaskState(
  type: SubtaskType,
  existing: readonly SubtaskView[],
): "queued" | "pending" {
  if (type !== "step") return "queued";
  return stepsInOrder(existing).every((step) => step.state === "completed") ? "queued" : "pending";
}

/**
 * The step to queue now, or null: the first `pending` step, provided every step before it has
 * completed (a failed or cancelled step stops the pipeline until it is retried and completes).
 */
export function nextStepToQueue<T extends SubtaskView>(subtasks: readonly T[]): T | null {
  for (const step of stepsInOrder(subtasks)) {
    if (step.state === "completed") continue;
    return step.state === "pending" ? step : null;
  }
  return null;
}

export type PipelineProgress = {
  totalSteps: number;
  completedSteps: number;
  failedSteps: number;
  runningSteps: number;
  /** 1-based index of the first step not completed; null when all are (or there are none). */
  currentStepIndex: number | null;
  currentStepTitle: string | null;
  /** A failed or cancelled step stops the pipeline. */
  stopped: boolean;
};

export function pipelineProgress(subtasks: readonly SubtaskView[]): PipelineProgress | null {
  const steps = stepsInOrder(subtasks);
  if (steps.length === 0) return null;
  const currentIndex = steps.findIndex((step) => step.state !== "completed");
  const current = currentIndex >= 0 ? steps[currentIndex]! : null;
  return {
    totalSteps: steps.length,
    completedSteps: steps.filter((step) => step.state === "completed").length,
    failedSteps: steps.filter((step) => step.state === "failed").length,
    runningSteps: steps.filter((step) => ["queued", "provisioning", "running"].includes(step.state)).length,
    currentStepIndex: current ? currentIndex + 1 : null,
    currentStepTitle: current?.title ?? null,
    stopped: current !== null && (current.state === "failed" || current.state === "cancelled"),
  };
}

export type SubtaskStatus = {
  total: number;
  byState: Partial<Record<TaskState, number>>;
  /** Every blocking subtask has completed (true when there are none). */
  allComplete: boolean;
  /** Blocking subtasks not completed yet. */
  blocking: { id: string; title: string; state: TaskState; taskType: TaskType }[];
};

export function subtaskStatus(subtasks: readonly SubtaskView[]): SubtaskStatus {
  const byState: Partial<Record<TaskState, number>> = {};
  for (const task of subtasks) byState[task.state] = (byState[task.state] ?? 0) + 1;
  const blocking = subtasks
    .filter((task) => task.blocksParent && task.state !== "completed")
    .map(({ id, title, state, taskType }) => ({ id, title, state, taskType }));
  return { total: subtasks.length, byState, allComplete: blocking.length === 0, blocking };
}

/**
 * What a subtask's change of state means for its parent and siblings:
 * - queueStepId: the next step to queue (a step completed);
 * - parent: the parent's new state and trigger, or null.
 * `subtasks` holds every subtask of the parent with the changed one already in its new state.
 */
export type SubtaskConsequence = {
  queueStepId: string | null;
  parent: { to: TaskState; trigger: string; message: string } | null;
};

export function subtaskConsequences(
  changed: SubtaskView,
  subtasks: readonly SubtaskView[],
  parentState: TaskState,
): SubtaskConsequence {
  const result: SubtaskConsequence = { queueStepId: null, parent: null };
  if (changed.state === "completed") {
    if (changed.taskType === "step") result.queueStepId = nextStepToQueue(subtasks)?.id ?? null;
    const blockers = subtasks.filter((task) => task.blocksParent && task.state !== "completed");
    if (
      changed.blocksParent &&
      blockers.length === 0 &&
      parentState === "needs_attention" &&
      canTransition(parentState, "completed")
    ) {
      result.parent = {
        to: "completed",
        trigger: "subtasks_completed",
        message: "All blocking subtasks completed",
      };
    }
  } else if (changed.state === "failed" && changed.blocksParent) {
    if (
      !isActive(parentState) &&
      parentState !== "needs_attention" &&
      canTransition(parentState, "needs_attention")
    ) {
      const what =
        changed.taskType === "review" ? "Review" : changed.taskType === "step" ? "Step" : "Subtask";
      result.parent = {
        to: "needs_attention",
        trigger: "subtask_failed",
        message: `${what} "${changed.title}" failed`,
      };
    }
  }
  return result;
}

/** A new subtask's order: one past the highest among subtasks of the same type. */
export function nextSubtaskOrder(type: SubtaskType, existing: readonly SubtaskView[]): number {
  const orders = existing.filter((task) => task.taskType === type).map((task) => task.subtaskOrder);
  return orders.length === 0 ? 0 : Math.max(...orders) + 1;
}
