// User actions on a task (POST /api/tasks/:id/<action>): which states accept each one, where it
// leads, the trigger recorded in the task's event log, and the kind of run it starts.
import { canTransition, type TaskState } from "./task-states";

export const TASK_ACTIONS = ["cancel", "retry", "resume", "force-restart", "force-redo"] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

/** Why a run exists. `initial`: the task's first run; the others: the action that started it. */
export const RUN_KINDS = [
  "initial",
  "retry",
  "resume",
  "force_restart",
  "force_redo",
  "lease_expired",
] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export type ActionRule = {
  /** States the action is accepted from; any other answers 409 INVALID_TRANSITION. */
  from: readonly TaskState[];
  /** Where it leads. `requeue`: `queued`, or `waiting_on_deps` while dependencies are unmet. */
  to: "cancelled" | "requeue";
  trigger: string;
  /** The run it starts (requeue actions only). */
  runKind?: RunKind;
  /** Keep the agent session (resume) or start a fresh one. */
  keepSession?: boolean;
  /** Discard the branch, PR link and results (force-redo). */
  discardResults?: boolean;
};

export const ACTION_RULES: Readonly<Record<TaskAction, ActionRule>> = {
  // Every non-terminal state. An active run is told to stop; its later reports are refused.
  cancel: {
    from: ["pending", "waiting_on_deps", "queued", "provisioning", "running", "needs_attention", "pr_opened"],
    to: "cancelled",
    trigger: "user_cancel",
  },
  // Only tasks that ended badly; a new run on the existing branch, fresh session.
  retry: { from: ["failed", "cancelled"], to: "requeue", trigger: "user_retry", runKind: "retry" },
  // Continue the previous agent session with new context.
  resume: {
    from: ["needs_attention", "failed"],
    to: "requeue",
    trigger: "user_resume",
    runKind: "resume",
    keepSession: true,
  },
  // A new agent session on the existing branch/PR.
  "force-restart": {
    from: ["needs_attention", "pr_opened", "failed", "cancelled"],
    to: "requeue",
    trigger: "force_restart",
    runKind: "force_restart",
  },
  // From scratch: branch, PR link and results are discarded (old runs stay in history). Not while
  // a run is active (cancel first), not for a task that has not run, and not for a completed one.
  "force-redo": {
    from: ["needs_attention", "pr_opened", "failed", "cancelled"],
    to: "requeue",
    trigger: "force_redo",
    runKind: "force_redo",
    discardResults: true,
  },
};

/** Bulk actions run every matching task through the same transition function. */
export const BULK_CANCEL_STATES: readonly TaskState[] = [
  "queued",
  "waiting_on_deps",
  "provisioning",
  "running",
];
export const BULK_RETRY_STATES: readonly TaskState[] = ["failed"];

export function actionAccepts(action: TaskAction, state: TaskState): boolean {
  return ACTION_RULES[action].from.includes(state);
}

/**
 * The state an action leads to from `state`, or null when the action is not accepted there.
 * `depsMet` decides between `queued` and `waiting_on_deps` for requeueing actions.
 */
export function actionTarget(action: TaskAction, state: TaskState, depsMet: boolean): TaskState | null {
  const rule = ACTION_RULES[action];
  if (!rule.from.includes(state)) return null;
  const to: TaskState = rule.to === "cancelled" ? "cancelled" : depsMet ? "queued" : "waiting_on_deps";
  // The action table must stay inside the transition table; a unit test checks every pair.
  return canTransition(state, to) ? to : null;
}

export const DEFAULT_RESUME_PROMPT = "Continue working on this task.";
