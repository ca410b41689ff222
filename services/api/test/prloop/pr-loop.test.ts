// The PR loop against real Postgres and NATS: signed webhook deliveries refresh a task's PR, the
// reconciler reacts once per change (fix-up run, needs_attention, review, merge, failure), and
// redelivered or repeated deliveries change nothing. The platform is scripted (ScriptedPlatform).
import { randomUUID } from "node:crypto";
import { signature } from "../support/github-double";
import { testSecret } from "../../../runner/src/testing/fixtures";
import { eventually } from "../helpers/eventually";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, createTask, driveTo, stateOf, type Api } from "../tasks/task-fixtures";
import { check, ScriptedPlatform } from "./scripted-platform";

const REPO = "http://127.0.0.1:9/acme/app";
const secret = testSecret("whsec-");
const platform = new ScriptedPlatform();
let ctx: TestContext;
let api: Api;
let repoId: string;
let nextPr = 1;

beforeAll(async () => {
  ctx = await createTestContext({
    platform,
    allowedRepoHosts: ["127.0.0.1"],
    config: { GITHUB_WEBHOOK_SECRET: secret, OPTIO_PR_SWEEP_MS: 200 },
  });
  api = await apiFor(ctx);
  const repo = await api.auth(ctx.http.post("/api/repos")).send({ repoUrl: REPO }).expect(201);
  repoId = repo.body.repo.id;
  ctx.prLoop.watcher.start();
});
afterAll(() => ctx.close());

async function settings(changes: Record<string, unknown>) {
  await api
    .auth(ctx.http.patch(`/api/repos/${repoId}`))
    .send(changes)
    .expect(200);
}

/** A task whose run opened PR #n (as the PR-opening step leaves it). */
async function taskWithPr() {
  const number = nextPr++;
  const task = await createTask(api, { repoUrl: REPO });
  await driveTo(ctx, task.id, "pr_opened");
  const pr = platform.set(number, { headRef: `optio/pr-${number}` });
  await ctx.prisma.task.update({
    where: { id: task.id },
    data: { prNumber: number, prUrl: pr.url, branchName: pr.headRef, sessionId: `session-${number}` },
  });
  return { id: task.id, number };
}

function deliver(event: string, payload: unknown, options: { id?: string; signature?: string | null } = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const req = ctx.http
    .post("/api/webhooks/github")
    .set("content-type", "application/json")
    .set("x-github-event", event)
    .set("x-github-delivery", options.id ?? randomUUID());
  const signed = options.signature === undefined ? signature(secret, body) : options.signature;
  return (signed === null ? req : req.set("x-hub-signature-256", signed)).send(body);
}

const repository = { html_url: "http://127.0.0.1:9/Acme/App" };
const checkRun = (number: number, sha = platform.prs.get(number)!.headSha) => ({
  action: "completed",
  repository,
  check_run: {
    head_sha: sha,
    pull_requests: [{ number }],
    check_suite: { head_branch: `optio/pr-${number}` },
  },
});
const pullRequest = (number: number, action: string) => ({
  action,
  repository,
  pull_request: { number, head: { ref: `optio/pr-${number}`, sha: platform.prs.get(number)!.headSha } },
});

const runsOf = (taskId: string) =>
  ctx.prisma.run.findMany({ where: { taskId }, orderBy: { attempt: "asc" } });
const eventsOf = async (taskId: string) =>
  (await ctx.prisma.taskEvent.findMany({ where: { taskId }, orderBy: { seq: "asc" } })).map((e) => e.trigger);
const settle = () =>
  eventually(
    "the sweep to settle",
    () => ctx.prLoop.store.owed(100),
    (owed) => owed.length === 0,
  );

/** The review run ends with `verdict` (what the report applier tells the loop in its transaction). */
async function finishReview(reviewId: string, verdict: "approve" | "request_changes", body: string) {
  await driveTo(ctx, reviewId, "running");
  const { work, machine } = ctx.services.tasks;
  const trigger = verdict === "approve" ? "review_approved" : "review_changes_requested";
  await work.run(async (w) => {
    await machine.transition(w, { taskId: reviewId, to: "completed", trigger, actor: { kind: "system" } });
    const row = await w.tx.task.findUniqueOrThrow({ where: { id: reviewId } });
    await ctx.prLoop.onReview(w, row, { verdict, body });
  });
}

const reviewOf = (taskId: string) =>
  eventually(
    "the review subtask",
    () => ctx.prisma.task.findFirst({ where: { parentId: taskId, taskType: "review" } }),
    (row) => row !== null,
  ).then((row) => row!);

describe("webhook endpoint", () => {
  it("refuses a missing or wrong signature and changes nothing", async () => {
    const task = await taskWithPr();
    platform.set(task.number, { checkItems: [check("build", "failure")] });
    const payload = checkRun(task.number);
    const missing = await deliver("check_run", payload, { signature: null }).then((r) => r);
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe("AUTH_REQUIRED");
    const wrong = await deliver("check_run", payload, {
      signature: signature(`${secret}x`, JSON.stringify(payload)),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe("AUTH_INVALID");
    // A valid signature over another body does not verify this one.
    const replayed = await deliver(
      "check_run",
      { ...payload, action: "rerequested" },
      { signature: signature(secret, JSON.stringify(payload)) },
    );
    expect(replayed.status).toBe(401);
    expect(await ctx.prisma.webhookDelivery.count()).toBe(0);
    expect(await ctx.prisma.prWatch.count({ where: { taskId: task.id } })).toBe(0);
    expect(await stateOf(ctx, task.id)).toBe("pr_opened");
  });

  it("acknowledges unknown events and refuses malformed payloads naming the field", async () => {
    const ignored = await deliver("deployment", { anything: true });
    expect(ignored.status).toBe(202);
    expect(ignored.body).toEqual({ accepted: false, ignored: true, tasks: 0 });
    expect((await deliver("ping", { zen: "hi" })).status).toBe(200);

    const notJson = await deliver("check_run", "{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.body.details[0].path).toBe("body");
    const noNumber = await deliver("pull_request", {
      action: "opened",
      repository,
      pull_request: { head: {} },
    });
    expect(noNumber.status).toBe(400);
    expect(noNumber.body.code).toBe("VALIDATION_FAILED");
    expect(noNumber.body.details[0].path).toBe("body.pull_request.number");
    const badRepo = await deliver("status", { repository: { html_url: "ftp://x/y" }, sha: "a".repeat(40) });
    expect(badRepo.status).toBe(400);
    expect(badRepo.body.details[0].path).toBe("body.repository.html_url");
    const noDelivery = await ctx.http
      .post("/api/webhooks/github")
      .set("content-type", "application/json")
      .set("x-github-event", "status")
      .set("x-hub-signature-256", signature(secret, "{}"))
      .send("{}");
    expect(noDelivery.status).toBe(400);
    expect(noDelivery.body.details[0].path).toBe("headers.x-github-delivery");
    expect(await ctx.prisma.webhookDelivery.count()).toBe(0);
  });
});

describe("reconciler", () => {
  it("starts one fix-up run naming the failing check; redelivered and repeated deliveries change nothing", async () => {
    await settings({ autoResume: true, maxAutoResumes: 2, autoMerge: false, reviewEnabled: false });
    const task = await taskWithPr();
    platform.set(task.number, {
      checkItems: [check("build", "success"), check("test", "failure", "expected 2, got 3")],
    });
    const id = randomUUID();
    expect((await deliver("check_run", checkRun(task.number), { id })).status).toBe(202);
    await eventually(
      "the fix-up run",
      () => runsOf(task.id),
      (runs) => runs.length === 2,
    );
    const runs = await runsOf(task.id);
    expect(runs[1]).toMatchObject({
      kind: "resume",
      state: "queued",
      resumeSessionId: `session-${task.number}`,
    });
    expect(runs[1]!.prompt).toContain("**test**: failure");
    expect(runs[1]!.prompt).toContain("expected 2, got 3");
    expect(await stateOf(ctx, task.id)).toBe("queued");

    expect((await deliver("check_run", checkRun(task.number), { id })).body).toEqual({
      ok: true,
      duplicate: true,
    });
    await deliver("check_suite", {
      action: "completed",
      repository,
      check_suite: {
        head_sha: platform.prs.get(task.number)!.headSha,
        head_branch: `optio/pr-${task.number}`,
      },
    });
    await settle();
    expect(await runsOf(task.id)).toHaveLength(2);
    expect((await eventsOf(task.id)).filter((t) => t === "auto_resume_ci_fix")).toHaveLength(1);
    expect(await ctx.prisma.prWatch.findUniqueOrThrow({ where: { taskId: task.id } })).toMatchObject({
      autoResumes: 1,
    });
  });

  it("asks for attention when auto-resume is off", async () => {
    await settings({ autoResume: false });
    const task = await taskWithPr();
    platform.set(task.number, { mergeable: false, checkItems: [check("build", "success")] });
    await deliver("pull_request", pullRequest(task.number, "synchronize"));
    await eventually(
      "needs_attention",
      () => stateOf(ctx, task.id),
      (state) => state === "needs_attention",
    );
    const row = await ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row.errorMessage).toContain("MERGE_CONFLICT");
    expect(await runsOf(task.id)).toHaveLength(1);
  });

  it("merges a green PR once, completes the task, and ignores the merged webhook afterwards", async () => {
    await settings({ autoMerge: true, mergeMethod: "rebase", reviewEnabled: false });
    const task = await taskWithPr();
    platform.set(task.number, { checkItems: [check("build", "success")] });
    await Promise.all([
      deliver("check_run", checkRun(task.number)),
      deliver("pull_request", pullRequest(task.number, "synchronize")),
    ]);
    await eventually(
      "completed",
      () => stateOf(ctx, task.id),
      (state) => state === "completed",
    );
    await deliver("pull_request", pullRequest(task.number, "closed"));
    await settle();
    const merges = platform.writes.filter((w) => w.kind === "merge" && w.prNumber === task.number);
    expect(merges).toEqual([
      { kind: "merge", prNumber: task.number, key: `merge:${task.id}`, detail: "rebase" },
    ]);
    expect((await eventsOf(task.id)).filter((t) => t === "auto_merged" || t === "pr_merged")).toEqual([
      "auto_merged",
    ]);
  });

  it("fails the task when its PR is closed without merging", async () => {
    await settings({ autoMerge: false });
    const task = await taskWithPr();
    platform.set(task.number, { state: "closed" });
    await deliver("pull_request", pullRequest(task.number, "closed"));
    await eventually(
      "failed",
      () => stateOf(ctx, task.id),
      (state) => state === "failed",
    );
    const row = await ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row.errorMessage).toBe(`PR_CLOSED: PR #${task.number} was closed without merging`);
  });

  it("reviews a green PR with the review agent, posts its approval once and merges", async () => {
    await settings({
      autoMerge: true,
      reviewEnabled: true,
      reviewTrigger: "on_ci_pass",
      mergeMethod: "squash",
    });
    const task = await taskWithPr();
    platform.set(task.number, { checkItems: [check("build", "success")] });
    await deliver("check_run", checkRun(task.number));
    const review = await reviewOf(task.id);
    expect(review.repoBranch).toBe(`optio/pr-${task.number}`);
    expect(review.prompt).toContain("OPTIO_REVIEW_VERDICT: approve");
    expect(platform.writes.some((w) => w.prNumber === task.number)).toBe(false);

    await finishReview(review.id, "approve", "Looks right.");
    await eventually(
      "completed",
      () => stateOf(ctx, task.id),
      (state) => state === "completed",
    );
    expect(platform.writes.filter((w) => w.prNumber === task.number).map((w) => [w.kind, w.detail])).toEqual([
      ["review", "APPROVE: Looks right."],
      ["merge", "squash"],
    ]);
  });

  it("sends a review agent's requested changes back to the agent", async () => {
    await settings({ autoMerge: true, autoResume: true, reviewEnabled: true, reviewTrigger: "on_pr" });
    const task = await taskWithPr();
    await deliver("pull_request", pullRequest(task.number, "opened"));
    const review = await reviewOf(task.id);
    await finishReview(review.id, "request_changes", "Add a test for negatives.");
    expect(await stateOf(ctx, task.id)).toBe("queued");
    const runs = await runsOf(task.id);
    expect(runs.at(-1)!.prompt).toContain("Add a test for negatives.");
    await eventually(
      "the posted review",
      () => platform.writes.filter((w) => w.prNumber === task.number),
      (writes) => writes.length === 1,
    );
    expect(platform.writes.filter((w) => w.prNumber === task.number)[0]!.detail).toBe(
      "REQUEST_CHANGES: Add a test for negatives.",
    );
  });
});
