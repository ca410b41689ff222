// The task state machine: the states, the one transition table, and what each state means.
// Pure data and functions; the API's transition function is the only writer of `tasks.state` and
// checks every change against `canTransition` before its compare-and-set.

export const TASK_STATES = [
  "pending",
  "waiting_on_deps",
  "queued",
  "provisioning",
  "running",
  "needs_attention",
  "pr_opened",
  "completed",
  "failed",
  "cancelled",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/**
 * Terminal states: nothing moves a task out of them on its own. `failed` and `cancelled` may be
 * revived by an explicit user action (retry, resume, force-restart, force-redo) and `failed` by a PR
 * merged later; `completed` is final.
 */
export const TERMINAL_STATES: readonly TaskState[] = ["completed", "failed", "cancelled"];

/** A run holds (or is acquiring) a container: the task cannot be edited or deleted. */
export const ACTIVE_STATES: readonly TaskState[] = ["provisioning", "running"];

/** Not started yet: PATCH, reorder and dependency edits are allowed. */
export const NOT_STARTED_STATES: readonly TaskState[] = ["pending", "waiting_on_deps", "queued"];

/**
 * A PATCH of only the caps (maxCostUsd, maxTurns) is allowed besides: they apply to the task's next
 * run, so they may change whenever no run is active and one may still come (a task stopped at its
 * cap waits in needs_attention for a higher one and a resume).
 */
export const CAPS_EDITABLE_STATES: readonly TaskState[] = [
  ...NOT_STARTED_STATES,
  "needs_attention",
  "pr_opened",
  "failed",
  "cancelled",
];

/**
 * Every allowed change of state. Beyond the classic Optio table:
 * - cancel works from every non-terminal state (pending and provisioning included);
 * - running/provisioning → queued exists for the lease reaper (a lost runner → next attempt);
 * - queued → waiting_on_deps exists for a dependency added to a queued task;
 * - failed/cancelled → waiting_on_deps exist for a revived task whose dependencies are not met yet;
 * - completed is final (no transition out, force-redo included).
 */
export const TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  pending: ["queued", "waiting_on_deps", "failed", "cancelled"],
  waiting_on_deps: ["queued", "failed", "cancelled"],
  queued: ["provisioning", "waiting_on_deps", "failed", "cancelled"],
  provisioning: ["running", "queued", "failed", "cancelled"],
  running: ["pr_opened", "completed", "needs_attention", "failed", "cancelled", "queued"],
  needs_attention: ["queued", "waiting_on_deps", "pr_opened", "completed", "failed", "cancelled"],
  pr_opened: ["completed", "needs_attention", "failed", "cancelled", "queued", "waiting_on_deps"],
  completed: [],
  failed: ["queued", "waiting_on_deps", "completed"],
  cancelled: ["queued", "waiting_on_deps"],
};

export function isTaskState(value: unknown): value is TaskState {
  return typeof value === "string" && (TASK_STATES as readonly string[]).includes(value);
}

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function isActive(state: TaskState): boolean {
  return ACTIVE_STATES.includes(state);
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Column changes implied by entering a state (besides `state` itself), given the current values.
 * `startedAt`/`completedAt` are the task's own timestamps for its current attempt cycle.
 */
export type EnteringEffects = {
  startedAt?: Date | null;
  completedAt?: Date | null;
  errorMessage?: string | null;
};

export function effectsOfEntering(
  to: TaskState,
  current: { startedAt: Date | null },
  now: Date,
  message?: string | null,
): EnteringEffects {
  switch (to) {
    case "running":
      return current.startedAt ? {} : { startedAt: now };
    case "queued":
    case "waiting_on_deps":
      return { completedAt: null, errorMessage: null };
    case "completed":
      return { completedAt: now, errorMessage: null };
    case "failed":
      return { completedAt: now, errorMessage: message ?? null };
    case "cancelled":
      return { completedAt: now };
    case "needs_attention":
      return { errorMessage: message ?? null };
    default:
      return {};
  }
}
