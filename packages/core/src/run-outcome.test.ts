import { decideRunOutcome } from "./run-outcome";

const ok = { exitCode: 0, pushed: true, commits: 2, error: null };

describe("decideRunOutcome", () => {
  it("completes a task whose branch was pushed with commits", () => {
    expect(decideRunOutcome(ok, 1, 3)).toMatchObject({ run: "succeeded", task: "completed" });
  });

  it("asks for attention when the agent succeeded without changes", () => {
    const outcome = decideRunOutcome({ ...ok, commits: 0, pushed: false }, 1, 3);
    expect(outcome).toMatchObject({ run: "succeeded", task: "needs_attention", trigger: "run_no_changes" });
    expect(outcome.message).toMatch(/without changing/);
  });

  it("fails on the agent's own failure without retrying", () => {
    expect(decideRunOutcome({ ...ok, exitCode: 2, commits: 0, pushed: false }, 1, 3)).toMatchObject({
      task: "failed",
      errorCode: "AGENT_FAILED",
      message: "AGENT_FAILED: The agent exited with code 2",
    });
  });

  it.each(["OOM_KILLED", "RUN_TIMEOUT"])("fails at once on %s", (code) => {
    const outcome = decideRunOutcome(
      { exitCode: null, pushed: false, commits: 0, error: { code, message: "x" } },
      1,
      3,
    );
    expect(outcome).toMatchObject({ task: "failed", errorCode: code });
  });

  it("asks for attention, not another attempt, when a budget cap stopped the run", () => {
    const error = { code: "BUDGET_EXCEEDED", message: "cost $0.5200 crossed maxCostUsd $0.5000" };
    for (const readOnly of [false, true])
      expect(decideRunOutcome({ exitCode: 143, pushed: false, commits: 0, error, readOnly }, 1, 3)).toEqual({
        run: "failed",
        task: "needs_attention",
        trigger: "run_budget_exceeded",
        message: "BUDGET_EXCEEDED: cost $0.5200 crossed maxCostUsd $0.5000",
        errorCode: "BUDGET_EXCEEDED",
      });
  });

  it("requeues infrastructure failures until the attempts run out", () => {
    const lost = {
      exitCode: null,
      pushed: false,
      commits: 0,
      error: { code: "LEASE_EXPIRED", message: "runner lost" },
    };
    expect(decideRunOutcome(lost, 1, 3)).toMatchObject({ task: "queued", trigger: "run_retry" });
    expect(decideRunOutcome(lost, 3, 3)).toMatchObject({
      task: "failed",
      message: "LEASE_EXPIRED: runner lost (after 3 of 3 attempts)",
    });
  });

  it("asks a person about refused credentials, and retries an unavailable model API", () => {
    const facts = (code: string) => ({
      exitCode: 1,
      pushed: false,
      commits: 0,
      error: { code, message: "m" },
    });
    expect(decideRunOutcome(facts("AGENT_AUTH_FAILED"), 1, 3)).toMatchObject({
      task: "needs_attention",
      errorCode: "AGENT_AUTH_FAILED",
    });
    expect(decideRunOutcome(facts("AGENT_API_UNAVAILABLE"), 1, 3)).toMatchObject({
      task: "queued",
      trigger: "run_retry",
    });
    expect(decideRunOutcome(facts("AGENT_API_UNAVAILABLE"), 3, 3).task).toBe("failed");
  });

  it("treats commits that never reached the remote as a push failure", () => {
    expect(decideRunOutcome({ ...ok, pushed: false }, 1, 1)).toMatchObject({
      task: "failed",
      errorCode: "PUSH_FAILED",
    });
  });
  it("completes a review run with a verdict and fails one without", () => {
    const review = { exitCode: 0, pushed: false, commits: 0, error: null, readOnly: true };
    expect(decideRunOutcome({ ...review, review: { verdict: "approve" } }, 1, 3)).toMatchObject({
      task: "completed",
      trigger: "review_approved",
    });
    expect(decideRunOutcome({ ...review, review: { verdict: "request_changes" } }, 1, 3)).toMatchObject({
      task: "completed",
      trigger: "review_changes_requested",
    });
    expect(decideRunOutcome({ ...review, review: null }, 1, 3)).toMatchObject({
      task: "failed",
      errorCode: "REVIEW_NO_VERDICT",
    });
    // A review whose agent failed is a failed run like any other.
    expect(decideRunOutcome({ ...review, exitCode: 1 }, 1, 3)).toMatchObject({
      task: "failed",
      trigger: "run_failed",
    });
  });
});
