// The PR reconciler's decision: from the last *handled* snapshot, the newly *observed* one, the task
// and the repo's settings, the actions to take. Pure. Reactions to a change (checks turned failing,
// changes requested, a conflict) fire once per change: the caller records `observed` as handled in
// the same transaction as the actions, and never compares against a value it has just overwritten.
// Outcomes (merged, closed) and the merge itself are guarded by the task's state instead, so a
// repeated decision finds nothing left to do.
import { fixUpPrompt, type PrProblem } from "./pr-prompts";
import type { MergeMethod, PrLoopSettings } from "./pr-settings";
import type { PrCheck, PrSnapshot } from "./pull-request";
import { canTransition, type TaskState } from "./task-states";

/** The review agent's latest review of this PR. */
export type PrReviewRecord = {
  /** The head commit it reviewed. */
  headSha: string;
  status: "running" | "approved" | "changes_requested" | "failed";
};

/** What the reconciler needs to know about the task. */
export type PrTask = {
  state: TaskState;
  /** Fix-up runs the loop started on its own since the last human action. */
  autoResumes: number;
  /** The task has an agent session a fix-up run can continue. */
  hasSession: boolean;
  review: PrReviewRecord | null;
  /** Every subtask that blocks the parent has completed. */
  blockersDone: boolean;
};

export type NeedsAttentionCode = "CI_FAILING" | "CHANGES_REQUESTED" | "MERGE_CONFLICT";

export type PrAction =
  | { type: "complete"; trigger: "pr_merged" }
  | { type: "fail"; trigger: "pr_closed"; code: "PR_CLOSED"; message: string }
  | { type: "resume"; trigger: string; prompt: string; keepSession: boolean; problems: PrProblem["kind"][] }
  | { type: "needs_attention"; trigger: string; code: NeedsAttentionCode; message: string }
  | { type: "review"; headSha: string }
  | { type: "merge"; method: MergeMethod; headSha: string };

export type PrDecision = {
  actions: PrAction[];
  /**
   * `observed` has been dealt with and becomes the handled snapshot. false: the task is busy
   * (a fix-up run in flight) and the change must be looked at again once it is back in `pr_opened`.
   */
  handled: boolean;
};

const PROBLEM_META: Record<
  PrProblem["kind"],
  { code: NeedsAttentionCode; resumeTrigger: string; attentionTrigger: string; label: string }
> = {
  merge_conflict: {
    code: "MERGE_CONFLICT",
    resumeTrigger: "auto_resume_conflicts",
    attentionTrigger: "merge_conflicts",
    label: "the PR has merge conflicts",
  },
  ci_failing: {
    code: "CI_FAILING",
    resumeTrigger: "auto_resume_ci_fix",
    attentionTrigger: "ci_failing",
    label: "checks are failing",
  },
  changes_requested: {
    code: "CHANGES_REQUESTED",
    resumeTrigger: "auto_resume_review",
    attentionTrigger: "changes_requested",
    label: "changes were requested",
  },
};

const failingChecks = (pr: PrSnapshot): PrCheck[] =>
  pr.checks.items.filter((check) => check.state === "failure" || check.state === "cancelled");

/** The problems that are new in `observed` compared with what was handled. */
export function newProblems(handled: PrSnapshot | null, observed: PrSnapshot): PrProblem[] {
  const sameHead = handled !== null && handled.headSha === observed.headSha;
  const problems: PrProblem[] = [];
  if (observed.mergeable === false && !(sameHead && handled.mergeable === false)) {
    problems.push({ kind: "merge_conflict" });
  }
  if (observed.checks.verdict === "failing" && !(sameHead && handled.checks.verdict === "failing")) {
    problems.push({ kind: "ci_failing", checks: failingChecks(observed) });
  }
  const comments = observed.review.requestedChanges;
  if (
    observed.review.decision === "changes_requested" &&
    !(
      handled?.review.decision === "changes_requested" &&
      handled.review.requestedChanges.join("\n") === comments.join("\n")
    )
  ) {
    problems.push({ kind: "changes_requested", comments });
  }
  return problems;
}

/** Whether the loop may start a fix-up run on its own now. */
export function mayAutoResume(task: PrTask, settings: PrLoopSettings): boolean {
  return task.state === "pr_opened" && settings.autoResume && task.autoResumes < settings.maxAutoResumes;
}

/** One fix-up run for all new problems, or a human's attention when the loop may not start one. */
export function reactToProblems(
  problems: readonly PrProblem[],
  pr: PrSnapshot,
  task: PrTask,
  settings: PrLoopSettings,
): PrAction | null {
  if (problems.length === 0 || task.state !== "pr_opened") return null;
  const first = PROBLEM_META[problems[0]!.kind];
  if (mayAutoResume(task, settings)) {
    return {
      type: "resume",
      trigger: first.resumeTrigger,
      prompt: fixUpPrompt(problems, pr),
      // A rebase starts best from a clean session; other fixes keep the agent's context.
      keepSession: task.hasSession && !problems.some((problem) => problem.kind === "merge_conflict"),
      problems: problems.map((problem) => problem.kind),
    };
  }
  const why = problems.map((problem) => PROBLEM_META[problem.kind].label).join("; ");
  const limit =
    settings.autoResume && task.autoResumes >= settings.maxAutoResumes
      ? ` (auto-resume used ${task.autoResumes} of ${settings.maxAutoResumes})`
      : "";
  return {
    type: "needs_attention",
    trigger: first.attentionTrigger,
    code: first.code,
    message: `PR #${pr.number}: ${why}${limit}`,
  };
}

const reviewOf = (task: PrTask, pr: PrSnapshot) =>
  task.review && task.review.headSha === pr.headSha ? task.review : null;

function shouldLaunchReview(pr: PrSnapshot, task: PrTask, settings: PrLoopSettings): boolean {
  if (!settings.reviewEnabled || settings.reviewTrigger === "manual" || reviewOf(task, pr)) return false;
  return settings.reviewTrigger === "on_pr" || pr.checks.verdict === "passing";
}

/** Every condition of an automatic merge holds for the PR's current head. */
export function mayAutoMerge(pr: PrSnapshot, task: PrTask, settings: PrLoopSettings): boolean {
  if (!settings.autoMerge || settings.cautiousMode || task.state !== "pr_opened") return false;
  if (pr.state !== "open" || pr.merged || pr.draft || pr.mergeable !== true) return false;
  // Only a green head: no checks at all may mean CI has not registered them yet.
  if (pr.checks.verdict !== "passing" || pr.review.decision === "changes_requested") return false;
  if (!task.blockersDone) return false;
  const review = reviewOf(task, pr);
  if (review && review.status !== "approved") return false;
  if (settings.reviewEnabled && settings.reviewTrigger !== "manual" && !review) return false;
  if (settings.requireApproval && pr.review.decision !== "approved" && review?.status !== "approved") {
    return false;
  }
  return true;
}

export function reconcilePr(
  handled: PrSnapshot | null,
  observed: PrSnapshot,
  task: PrTask,
  settings: PrLoopSettings,
): PrDecision {
  if (observed.merged) {
    if (task.state === "completed" || task.state === "cancelled") return { actions: [], handled: true };
    // A fix-up run still queued: complete once it has started (running → completed cancels it).
    if (!canTransition(task.state, "completed")) return { actions: [], handled: false };
    return { actions: [{ type: "complete", trigger: "pr_merged" }], handled: true };
  }
  if (observed.state === "closed") {
    if (handled?.state === "closed" || !canTransition(task.state, "failed")) {
      return { actions: [], handled: true };
    }
    const message = `PR #${observed.number} was closed without merging`;
    return { actions: [{ type: "fail", trigger: "pr_closed", code: "PR_CLOSED", message }], handled: true };
  }
  if (task.state !== "pr_opened") {
    // needs_attention waits for a human; a fix-up run in flight is looked at again afterwards.
    return { actions: [], handled: task.state === "needs_attention" || task.state === "failed" };
  }
  const problem = reactToProblems(newProblems(handled, observed), observed, task, settings);
  if (problem) return { actions: [problem], handled: true };
  if (shouldLaunchReview(observed, task, settings)) {
    return { actions: [{ type: "review", headSha: observed.headSha }], handled: true };
  }
  if (mayAutoMerge(observed, task, settings)) {
    return {
      actions: [{ type: "merge", method: settings.mergeMethod, headSha: observed.headSha }],
      handled: true,
    };
  }
  return { actions: [], handled: true };
}

/**
 * The review agent's verdict on the parent's PR: requested changes go back to the agent (or a
 * human); an approval leaves the next step (the merge) to the reconciler.
 */
export function reactToReviewVerdict(
  verdict: { approved: boolean; body: string },
  pr: PrSnapshot,
  task: PrTask,
  settings: PrLoopSettings,
): PrAction | null {
  if (verdict.approved) return null;
  return reactToProblems([{ kind: "changes_requested", comments: [verdict.body] }], pr, task, settings);
}
