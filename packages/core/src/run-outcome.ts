// What a finished run means for its task. Pure: the report applier and the lease reaper act on it.
import type { TaskState } from "./task-states";

/**
 * Failures a person should look at rather than a failed task: a cap stopped the run (the runner's
 * meter, or the agent's own --max-turns), or the model API refused the agent's key; raising the cap
 * or fixing the secret and resuming continues the work.
 */
export const ATTENTION_ERRORS: readonly string[] = ["BUDGET_EXCEEDED", "AGENT_AUTH_FAILED"];

/** Failures worth another attempt: infrastructure, not the agent's own verdict. */
export const RETRYABLE_ERRORS: readonly string[] = [
  "CLONE_FAILED",
  "PUSH_FAILED",
  "CONTAINER_FAILED",
  "RUNNER_SHUTDOWN",
  "LEASE_EXPIRED",
  // The model API failed after the CLI's own retries with back-off (429, 529, 5xx, a cut stream).
  "AGENT_API_UNAVAILABLE",
];

export type RunFacts = {
  /** The agent's exit code, when a result was reported. */
  exitCode: number | null;
  pushed: boolean;
  commits: number;
  error: { code: string; message: string } | null;
  /** The repo is on a git platform: pushed work becomes a pull request Optio opens. */
  onPlatform?: boolean;
  /** A review run: it changes nothing and must end with a verdict. */
  readOnly?: boolean;
  review?: { verdict: "approve" | "request_changes" } | null;
};

export type RunOutcome = {
  run: "succeeded" | "failed";
  /**
   * `pr_opened` means "open the pull request": the task gets there once the PR exists (the API
   * opens it outside the report's transaction).
   */
  task: Extract<TaskState, "completed" | "pr_opened" | "needs_attention" | "failed" | "queued">;
  trigger: string;
  message: string | null;
  errorCode: string | null;
};

/**
 * Decides the next task state from a run's facts and the attempts used so far.
 * A pushed branch with commits becomes a pull request on a platform, and completes the task on a
 * plain git host.
 */
export function decideRunOutcome(facts: RunFacts, attempt: number, maxAttempts: number): RunOutcome {
  if (facts.readOnly && !facts.error && facts.exitCode === 0) return reviewOutcome(facts.review ?? null);
  if (!facts.error && facts.exitCode === 0) {
    if (facts.pushed && facts.commits > 0 && facts.onPlatform) {
      return { run: "succeeded", task: "pr_opened", trigger: "run_pushed", message: null, errorCode: null };
    }
    if (facts.pushed && facts.commits > 0) {
      return {
        run: "succeeded",
        task: "completed",
        trigger: "run_succeeded",
        message: null,
        errorCode: null,
      };
    }
    if (facts.commits === 0) {
      return {
        run: "succeeded",
        task: "needs_attention",
        trigger: "run_no_changes",
        message: "The agent finished without changing anything",
        errorCode: null,
      };
    }
    return failure(
      { code: "PUSH_FAILED", message: "The branch has commits but was not pushed" },
      attempt,
      maxAttempts,
    );
  }
  const error = facts.error ?? {
    code: "AGENT_FAILED",
    message: `The agent exited with code ${facts.exitCode}`,
  };
  return failure(error, attempt, maxAttempts);
}

function failure(error: { code: string; message: string }, attempt: number, maxAttempts: number): RunOutcome {
  const message = `${error.code}: ${error.message}`;
  if (ATTENTION_ERRORS.includes(error.code))
    return {
      run: "failed",
      task: "needs_attention",
      trigger: `run_${error.code.toLowerCase()}`, // run_budget_exceeded, run_agent_auth_failed
      message,
      errorCode: error.code,
    };
  if (RETRYABLE_ERRORS.includes(error.code) && attempt < maxAttempts) {
    return { run: "failed", task: "queued", trigger: "run_retry", message, errorCode: error.code };
  }
  const suffix = RETRYABLE_ERRORS.includes(error.code)
    ? ` (after ${attempt} of ${maxAttempts} attempts)`
    : "";
  return {
    run: "failed",
    task: "failed",
    trigger: "run_failed",
    message: message + suffix,
    errorCode: error.code,
  };
}

/** A review run that finished: its verdict completes it; without one the review failed. */
function reviewOutcome(review: RunFacts["review"]): RunOutcome {
  if (!review) {
    return {
      run: "failed",
      task: "failed",
      trigger: "run_failed",
      message: "REVIEW_NO_VERDICT: the review ended without a verdict line",
      errorCode: "REVIEW_NO_VERDICT",
    };
  }
  const approved = review.verdict === "approve";
  return {
    run: "succeeded",
    task: "completed",
    trigger: approved ? "review_approved" : "review_changes_requested",
    message: null,
    errorCode: null,
  };
}
