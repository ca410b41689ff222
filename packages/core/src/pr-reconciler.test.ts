import { PR_LOOP_DEFAULTS, type PrLoopSettings } from "./pr-settings";
import { REVIEW_VERDICT_PREFIX, reviewPrompt } from "./pr-prompts";
import { reactToReviewVerdict, reconcilePr, type PrTask } from "./pr-reconciler";
import { checksVerdict, type PrCheck, type PrSnapshot } from "./pull-request";

const check = (name: string, state: PrCheck["state"], summary: string | null = null): PrCheck => ({
  name,
  state,
  url: `https://ci.example/${name}`,
  summary,
});

function pr(overrides: Partial<PrSnapshot> & { checkItems?: PrCheck[] } = {}): PrSnapshot {
  const { checkItems, ...rest } = overrides;
  const items = checkItems ?? [check("build", "success")];
  return {
    number: 7,
    url: "https://github.example/o/r/pull/7",
    state: "open",
    merged: false,
    draft: false,
    headRef: "optio/abc-fix",
    headSha: "a".repeat(40),
    baseRef: "main",
    mergeable: true,
    checks: { verdict: checksVerdict(items), items },
    review: { decision: "none", requestedChanges: [] },
    ...rest,
  };
}

const task = (overrides: Partial<PrTask> = {}): PrTask => ({
  state: "pr_opened",
  autoResumes: 0,
  hasSession: true,
  review: null,
  blockersDone: true,
  ...overrides,
});

const settings = (overrides: Partial<PrLoopSettings> = {}): PrLoopSettings => ({
  ...PR_LOOP_DEFAULTS,
  ...overrides,
});

const failing = pr({
  checkItems: [check("build", "success"), check("test", "failure", "expected 2, got 3")],
});

describe("reconcilePr: outcomes", () => {
  it("completes a merged PR's task, from pr_opened and from failed, once", () => {
    const merged = pr({ state: "closed", merged: true });
    for (const state of ["pr_opened", "failed", "needs_attention", "running"] as const) {
      expect(reconcilePr(null, merged, task({ state }), settings())).toEqual({
        actions: [{ type: "complete", trigger: "pr_merged" }],
        handled: true,
      });
    }
    expect(reconcilePr(merged, merged, task({ state: "completed" }), settings()).actions).toEqual([]);
  });

  it("waits with a merged PR while a fix-up run is still queued (queued cannot complete)", () => {
    expect(
      reconcilePr(null, pr({ merged: true, state: "closed" }), task({ state: "queued" }), settings()),
    ).toEqual({ actions: [], handled: false });
  });

  it("fails the task when the PR is closed unmerged, once per closing", () => {
    const closed = pr({ state: "closed" });
    const decision = reconcilePr(pr(), closed, task(), settings());
    expect(decision.actions).toEqual([
      { type: "fail", trigger: "pr_closed", code: "PR_CLOSED", message: "PR #7 was closed without merging" },
    ]);
    expect(reconcilePr(closed, closed, task(), settings()).actions).toEqual([]);
    // Reopened, then closed again: a new change.
    expect(reconcilePr(pr(), closed, task({ state: "needs_attention" }), settings()).actions).toHaveLength(1);
    expect(reconcilePr(pr(), closed, task({ state: "cancelled" }), settings()).actions).toEqual([]);
  });
});

describe("reconcilePr: failing checks", () => {
  it("resumes the agent's session with the failing checks named, when auto-resume allows", () => {
    const decision = reconcilePr(pr(), failing, task(), settings({ autoResume: true }));
    expect(decision.handled).toBe(true);
    expect(decision.actions).toHaveLength(1);
    const action = decision.actions[0]!;
    expect(action).toMatchObject({
      type: "resume",
      trigger: "auto_resume_ci_fix",
      keepSession: true,
      problems: ["ci_failing"],
    });
    if (action.type !== "resume") throw new Error("resume expected");
    expect(action.prompt).toContain("**test**: failure (https://ci.example/test)");
    expect(action.prompt).toContain("expected 2, got 3");
    expect(action.prompt).not.toContain("**build**");
    expect(action.prompt).toContain("Do not open another pull request");
  });

  it("reacts once: the same failing head handled again is no news", () => {
    const s = settings({ autoResume: true });
    expect(reconcilePr(failing, failing, task(), s).actions).toEqual([]);
    // A check added on the same head keeps the verdict: still no news.
    const more = pr({ checkItems: [...failing.checks.items, check("lint", "failure")] });
    expect(reconcilePr(failing, more, task(), s).actions).toEqual([]);
  });

  it("reacts again when a new head fails too", () => {
    const next = { ...failing, headSha: "b".repeat(40) };
    expect(
      reconcilePr(failing, next, task({ autoResumes: 1 }), settings({ autoResume: true })).actions,
    ).toEqual([expect.objectContaining({ type: "resume", trigger: "auto_resume_ci_fix" })]);
  });

  it("asks for attention when auto-resume is off or used up", () => {
    expect(reconcilePr(pr(), failing, task(), settings()).actions).toEqual([
      {
        type: "needs_attention",
        trigger: "ci_failing",
        code: "CI_FAILING",
        message: "PR #7: checks are failing",
      },
    ]);
    const usedUp = reconcilePr(pr(), failing, task({ autoResumes: 3 }), settings({ autoResume: true }));
    expect(usedUp.actions).toEqual([
      expect.objectContaining({
        type: "needs_attention",
        code: "CI_FAILING",
        message: "PR #7: checks are failing (auto-resume used 3 of 3)",
      }),
    ]);
  });

  it("looks again later when the change arrives while a fix-up run is in flight", () => {
    for (const state of ["queued", "provisioning", "running"] as const) {
      expect(reconcilePr(pr(), failing, task({ state }), settings({ autoResume: true }))).toEqual({
        actions: [],
        handled: false,
      });
    }
    // needs_attention: a human already looks at it; the change is recorded as seen.
    expect(reconcilePr(pr(), failing, task({ state: "needs_attention" }), settings())).toEqual({
      actions: [],
      handled: true,
    });
  });

  it("treats the first observation as a change", () => {
    expect(reconcilePr(null, failing, task(), settings()).actions[0]).toMatchObject({ code: "CI_FAILING" });
  });
});

describe("reconcilePr: reviews and conflicts", () => {
  const requested = pr({
    review: { decision: "changes_requested", requestedChanges: ["Rename foo to bar"] },
  });

  it("resumes with the review comments, once per set of comments", () => {
    const s = settings({ autoResume: true });
    const first = reconcilePr(pr(), requested, task(), s).actions[0];
    expect(first).toMatchObject({ type: "resume", trigger: "auto_resume_review" });
    expect(first?.type === "resume" && first.prompt).toContain("Rename foo to bar");
    expect(reconcilePr(requested, { ...requested, headSha: "c".repeat(40) }, task(), s).actions).toEqual([]);
    const again = pr({ review: { decision: "changes_requested", requestedChanges: ["Also add a test"] } });
    expect(reconcilePr(requested, again, task(), s).actions[0]).toMatchObject({ type: "resume" });
    expect(reconcilePr(pr(), requested, task(), settings()).actions[0]).toMatchObject({
      type: "needs_attention",
      code: "CHANGES_REQUESTED",
    });
  });

  it("resumes a conflict in a fresh session with rebase instructions", () => {
    const conflicted = pr({ mergeable: false });
    const action = reconcilePr(pr(), conflicted, task(), settings({ autoResume: true })).actions[0];
    expect(action).toMatchObject({ type: "resume", trigger: "auto_resume_conflicts", keepSession: false });
    expect(action?.type === "resume" && action.prompt).toContain("git rebase origin/main");
    expect(reconcilePr(conflicted, conflicted, task(), settings({ autoResume: true })).actions).toEqual([]);
    expect(reconcilePr(pr(), conflicted, task(), settings()).actions[0]).toMatchObject({
      type: "needs_attention",
      trigger: "merge_conflicts",
      code: "MERGE_CONFLICT",
    });
    // Mergeability still being computed is not a conflict.
    expect(reconcilePr(pr(), pr({ mergeable: null }), task(), settings()).actions).toEqual([]);
  });

  it("puts several new problems into one fix-up run", () => {
    const both = { ...failing, mergeable: false };
    const action = reconcilePr(pr(), both, task(), settings({ autoResume: true })).actions;
    expect(action).toHaveLength(1);
    expect(action[0]).toMatchObject({ type: "resume", problems: ["merge_conflict", "ci_failing"] });
  });

  it("sends a review agent's requested changes back to the agent or to a human", () => {
    const verdict = { approved: false, body: "The loop never ends" };
    expect(reactToReviewVerdict(verdict, pr(), task(), settings({ autoResume: true }))).toMatchObject({
      type: "resume",
      trigger: "auto_resume_review",
    });
    expect(reactToReviewVerdict(verdict, pr(), task(), settings())).toMatchObject({
      code: "CHANGES_REQUESTED",
    });
    expect(reactToReviewVerdict({ approved: true, body: "ok" }, pr(), task(), settings())).toBeNull();
  });
});

describe("reconcilePr: review launch", () => {
  const on = (trigger: PrLoopSettings["reviewTrigger"]) =>
    settings({ reviewEnabled: true, reviewTrigger: trigger });
  const pending = pr({ checkItems: [check("build", "pending")] });

  it("on_pr: once per head, as soon as the PR is seen", () => {
    expect(reconcilePr(null, pending, task(), on("on_pr")).actions).toEqual([
      { type: "review", headSha: pending.headSha },
    ]);
    const reviewing = task({ review: { headSha: pending.headSha, status: "running" } });
    expect(reconcilePr(pending, pending, reviewing, on("on_pr")).actions).toEqual([]);
  });

  it("on_ci_pass: when the head's checks pass", () => {
    expect(reconcilePr(null, pending, task(), on("on_ci_pass")).actions).toEqual([]);
    expect(reconcilePr(pending, pr(), task(), on("on_ci_pass")).actions).toEqual([
      { type: "review", headSha: pr().headSha },
    ]);
  });

  it("manual or disabled: never on its own", () => {
    expect(reconcilePr(null, pr(), task(), on("manual")).actions).toEqual([]);
    expect(reconcilePr(null, pr(), task(), settings({ reviewTrigger: "on_pr" })).actions).toEqual([]);
  });

  it("documents the verdict line in the review prompt", () => {
    const prompt = reviewPrompt({ title: "Fix it", prompt: "Make it work" }, pr());
    expect(prompt).toContain(`${REVIEW_VERDICT_PREFIX} approve`);
    expect(prompt).toContain(`${REVIEW_VERDICT_PREFIX} request_changes`);
    expect(prompt).toContain("Make it work");
  });
});

describe("reconcilePr: auto-merge", () => {
  const merge = settings({ autoMerge: true });
  const green = pr();
  const expectMerge = (decision: ReturnType<typeof reconcilePr>) =>
    expect(decision.actions).toEqual([{ type: "merge", method: "squash", headSha: green.headSha }]);

  it("merges a green PR with the repo's merge method", () => {
    expectMerge(reconcilePr(green, green, task(), merge));
    expect(
      reconcilePr(green, green, task(), settings({ autoMerge: true, mergeMethod: "rebase" })).actions,
    ).toEqual([{ type: "merge", method: "rebase", headSha: green.headSha }]);
  });

  it("never merges without passing checks, in cautious mode, as a draft, or with blockers open", () => {
    const cases: [PrSnapshot, PrTask, PrLoopSettings][] = [
      [pr({ checkItems: [] }), task(), merge],
      [pr({ checkItems: [check("build", "pending")] }), task(), merge],
      [green, task(), settings({ autoMerge: true, cautiousMode: true })],
      [pr({ draft: true }), task(), merge],
      [pr({ mergeable: null }), task(), merge],
      [green, task({ blockersDone: false }), merge],
      [green, task({ state: "needs_attention" }), merge],
      [green, task(), settings()],
    ];
    for (const [snapshot, t, s] of cases) expect(reconcilePr(snapshot, snapshot, t, s).actions).toEqual([]);
  });

  it("requires an approval when the repo says so: the platform's or the review agent's", () => {
    const strict = settings({ autoMerge: true, requireApproval: true });
    expect(reconcilePr(green, green, task(), strict).actions).toEqual([]);
    expectMerge(
      reconcilePr(green, pr({ review: { decision: "approved", requestedChanges: [] } }), task(), strict),
    );
    expectMerge(
      reconcilePr(green, green, task({ review: { headSha: green.headSha, status: "approved" } }), strict),
    );
    // An approval of an older head does not count.
    expect(
      reconcilePr(green, green, task({ review: { headSha: "0".repeat(40), status: "approved" } }), strict)
        .actions,
    ).toEqual([]);
  });

  it("with the review agent on, waits for its approval of this head", () => {
    const reviewed = settings({ autoMerge: true, reviewEnabled: true, reviewTrigger: "on_ci_pass" });
    // First the review is launched, not the merge.
    expect(reconcilePr(null, green, task(), reviewed).actions).toEqual([
      { type: "review", headSha: green.headSha },
    ]);
    const running = task({ review: { headSha: green.headSha, status: "running" }, blockersDone: false });
    expect(reconcilePr(green, green, running, reviewed).actions).toEqual([]);
    const rejected = task({ review: { headSha: green.headSha, status: "changes_requested" } });
    expect(reconcilePr(green, green, rejected, reviewed).actions).toEqual([]);
    expectMerge(
      reconcilePr(green, green, task({ review: { headSha: green.headSha, status: "approved" } }), reviewed),
    );
  });

  it("never merges over a platform review requesting changes", () => {
    const requested = pr({ review: { decision: "changes_requested", requestedChanges: ["no"] } });
    expect(reconcilePr(requested, requested, task(), merge).actions).toEqual([]);
  });
});
