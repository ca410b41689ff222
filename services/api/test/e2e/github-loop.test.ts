// Issue → task → run → PR → failing check → fix-up run → green → review agent → auto-merge → issue
// closed, with real parts only: the API (in process, through its HTTP surface and webhook endpoint),
// real runner processes and containers from the test agent image (the fake Claude Code edits and
// commits on every run, and answers a review prompt with its verdict line), and the GitHub double as
// GitHub, reached through the real Octokit client, its git repos serving clone and push. The news
// reaches the API as signed webhooks, as webhooks delivered twice and backwards, or by polling only;
// then interruptions: a cancel during the fix-up run, and a PR created whose answer was lost.
import type { AddressInfo } from "node:net";
import { testSecret } from "../../../runner/src/testing/fixtures";
import { startGitHubDouble, type GitHubDouble, type RepoRef } from "../support/github-double";
import { containersLabelled, eventually, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(240_000);

const webhookSecret = testSecret("whsec-");
let double: GitHubDouble;
let stack: E2eStack;
let hookUrl: string;

beforeAll(async () => {
  double = await startGitHubDouble();
  stack = await startE2eStack({
    config: {
      OPTIO_GITHUB_URL: double.webUrl,
      GITHUB_WEBHOOK_SECRET: webhookSecret,
      OPTIO_PR_SWEEP_MS: 250,
      OPTIO_PR_POLL_MS: 1_000,
    },
    sideEffects: { intervalMs: 200, retryBaseMs: 100 },
  });
  const { ctx } = stack;
  await ctx.app.listen({ port: 0, host: "127.0.0.1" });
  hookUrl = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}/api/webhooks/github`;
  ctx.prLoop.watcher.start();
  // The token runs clone and push with and the API calls GitHub with, stored as a user would.
  await ctx.http
    .post("/api/secrets")
    .set(auth())
    .send({ name: "GITHUB_TOKEN", value: double.token })
    .expect(201);
  await stack.startRunner("e2e-github");
}, 15 * 60_000);
afterAll(async () => {
  await stack?.close();
  await double?.close();
});

const auth = () => ({ authorization: `Bearer ${stack.token}` });
const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const ended = (state: string) => ["completed", "failed", "cancelled", "needs_attention"].includes(state);

/** How GitHub's news reaches the API: webhooks as they happen, webhooks twice and backwards, polling only. */
type Delivery = "webhooks" | "shuffled" | "polling";

/** A connected GitHub repo with the whole loop on, an issue, and the issue assigned to Optio. */
async function assignedIssue(name: string, delivery: Delivery, body = "Add a greeting file.") {
  const repo: RepoRef = double.createRepo("acme", name);
  if (delivery !== "polling") double.addWebhook(repo, { url: hookUrl, secret: webhookSecret });
  double.setWebhookMode(delivery === "shuffled" ? "manual" : "auto");
  const connected = await stack.ctx.http
    .post("/api/repos")
    .set(auth())
    .send({
      repoUrl: `${double.webUrl}/acme/${name}`,
      autoResume: true,
      autoMerge: true,
      mergeMethod: "squash",
      reviewEnabled: true,
      reviewTrigger: "on_ci_pass",
    })
    .expect(201);
  const issue = double.addIssue(repo, { title: `Greet the user in ${name}`, body });
  const assigned = await stack.ctx.http
    .post("/api/issues/assign")
    .set(auth())
    .send({ repoId: connected.body.repo.id, issueNumber: issue.number, agentType: "claude" })
    .expect(201);
  return { repo, issue: issue.number, taskId: assigned.body.task.id as string };
}

/** Lets the platform's news reach the API the way the variant says, and waits until it was sent. */
async function deliver(delivery: Delivery) {
  if (delivery === "shuffled") await double.flushWebhooks({ reverse: true, duplicate: true });
  await double.webhooksIdle();
}

/** The state, and the task's error message when it is not the one expected. */
function expectState(task: { state: string; errorMessage: string | null }, state: string) {
  expect(`${task.state}${task.state === state ? "" : `: ${task.errorMessage}`}`).toBe(state);
}

async function waitForState(taskId: string, state: string, timeoutMs = 90_000) {
  const task = await eventually(
    `task ${state}`,
    () => taskOf(taskId),
    (t) => t.state === state || (ended(t.state) && t.state !== state),
    timeoutMs,
  );
  expectState(task, state);
  return task;
}

const mergeRequests = (repo: RepoRef, number: number) =>
  double.requests.filter(
    (r) => r.method === "PUT" && r.path === `/repos/${repo.owner}/${repo.name}/pulls/${number}/merge`,
  );
const triggersOf = async (taskId: string) =>
  (await stack.ctx.prisma.taskEvent.findMany({ where: { taskId }, orderBy: { seq: "asc" } })).map(
    (event) => event.trigger,
  );

/** Issue assigned → first run → PR opened; asserts the PR and returns it. */
async function throughFirstPr(name: string, delivery: Delivery, body?: string) {
  const { repo, issue, taskId } = await assignedIssue(name, delivery, body);
  const opened = await eventually(
    "pr_opened",
    () => taskOf(taskId),
    (t) => t.state === "pr_opened" || ended(t.state),
    120_000,
  );
  expectState(opened, "pr_opened");
  const pulls = double.pulls(repo);
  expect(pulls).toHaveLength(1);
  const pull = pulls[0]!;
  expect(opened).toMatchObject({
    prNumber: pull.number,
    prUrl: `${double.webUrl}/acme/${name}/pull/${pull.number}`,
  });
  expect(pull.pull).toMatchObject({ head: opened.branchName, base: "main", merged: false });
  expect(pull.body).toContain(`Closes #${issue}`);
  expect(pull.body).toContain(taskId);
  const files = double.git.git(`acme/${name}`, ["ls-tree", "--name-only", "-r", opened.branchName!]);
  expect(files).toContain("optio-fake-claude.txt");
  return { repo, issue, taskId, number: pull.number, branch: opened.branchName! };
}

/** A failing check on the PR's head → one fix-up run (a real container) that pushes a new commit. */
async function throughFixUp(
  pr: Awaited<ReturnType<typeof throughFirstPr>>,
  delivery: Delivery,
  summary = "1 failing: greeting is empty",
) {
  const firstHead = double.branchSha(pr.repo, pr.branch)!;
  double.setCheckRun(
    pr.repo,
    { pull: pr.number },
    { name: "test", status: "completed", conclusion: "failure", summary },
  );
  await deliver(delivery);
  const [fixUp] = await eventually(
    "the fix-up run",
    () => stack.ctx.prisma.run.findMany({ where: { taskId: pr.taskId, kind: "resume" } }),
    (runs) => runs.length > 0,
    30_000,
  );
  expect(fixUp!.prompt).toContain("**test**: failure");
  expect(fixUp!.prompt).toContain(summary);
  return { fixUp: fixUp!, firstHead };
}

describe("an issue through the whole PR loop, with real runs", () => {
  it.each<Delivery>(["webhooks", "shuffled", "polling"])(
    "%s: fix-up on a failing check, review agent approves, auto-merge, issue closed",
    async (delivery) => {
      const pr = await throughFirstPr(`loop-${delivery}`, delivery);
      const { fixUp, firstHead } = await throughFixUp(pr, delivery);

      // The fix-up run continues the PR's branch and pushes a new commit; the task is back in pr_opened.
      const afterFix = await waitForState(pr.taskId, "pr_opened");
      const run = await stack.ctx.prisma.run.findUniqueOrThrow({ where: { id: fixUp.id } });
      expect(run).toMatchObject({ state: "succeeded", branch: pr.branch });
      expect(afterFix.branchName).toBe(pr.branch);
      const newHead = double.branchSha(pr.repo, pr.branch)!;
      expect(newHead).not.toBe(firstHead);
      expect(
        double.git.git(`acme/${pr.repo.name}`, ["rev-list", "--count", `${firstHead}..${newHead}`]).trim(),
      ).toBe("1");
      expect(double.pulls(pr.repo)).toHaveLength(1);

      // CI passes on the new head → the review agent (a read-only subtask in a container) approves →
      // the verdict is posted on the PR → the PR is merged with the repo's method → completed.
      double.setCheckRun(
        pr.repo,
        { pull: pr.number },
        { name: "test", status: "completed", conclusion: "success" },
      );
      await deliver(delivery);
      const reviewTask = await eventually(
        "the review subtask",
        () => stack.ctx.prisma.task.findFirst({ where: { parentId: pr.taskId, taskType: "review" } }),
        (row) => row !== null,
        30_000,
      );
      await waitForState(reviewTask!.id, "completed");
      if (delivery === "shuffled") {
        // The posted review and the merge are news as well: delivered twice, backwards.
        await eventually(
          "review posted",
          () => double.world.reviews(double.world.repo("acme", pr.repo.name), pr.number),
          (r) => r.length > 0,
          30_000,
        );
        await deliver(delivery);
      }
      const done = await waitForState(pr.taskId, "completed");
      expect(done.prNumber).toBe(pr.number);

      const pull = double.pulls(pr.repo).find((p) => p.number === pr.number)!;
      expect(pull.pull).toMatchObject({ merged: true });
      expect(mergeRequests(pr.repo, pr.number)).toHaveLength(1);
      // Squash: main gained one single-parent commit carrying both runs' edits.
      const gitName = `acme/${pr.repo.name}`;
      expect(
        double.git.git(gitName, ["rev-list", "--parents", "-n1", "main"]).trim().split(" "),
      ).toHaveLength(2);
      expect(double.git.git(gitName, ["show", "main:optio-fake-claude.txt"]).trim().split("\n")).toHaveLength(
        2,
      );

      const reviews = double.world.reviews(double.world.repo("acme", pr.repo.name), pr.number);
      expect(reviews).toHaveLength(1);
      expect(reviews[0]!.body).toContain("Reviewed by the fake agent: approve.");
      expect(reviews[0]!.commitId).toBe(newHead);

      await eventually(
        "issue commented and closed",
        () => ({
          state: double.getIssue(pr.repo, pr.issue).state,
          comments: double.comments(pr.repo, pr.issue).filter((c) => c.body.includes("was merged")).length,
        }),
        (seen) => seen.state === "closed" && seen.comments > 0,
        30_000,
      );

      // Late and repeated news changes nothing: one fix-up, one review, one merge, one comment.
      await deliver(delivery);
      await eventually(
        "nothing owed",
        () => stack.ctx.prLoop.store.owed(100),
        (owed) => owed.length === 0,
      );
      expect(await stack.ctx.prisma.run.count({ where: { taskId: pr.taskId, kind: "resume" } })).toBe(1);
      expect(await stack.ctx.prisma.task.count({ where: { parentId: pr.taskId, taskType: "review" } })).toBe(
        1,
      );
      const triggers = await triggersOf(pr.taskId);
      expect(triggers.filter((t) => t === "auto_resume_ci_fix")).toHaveLength(1);
      expect(triggers.filter((t) => t === "auto_merged" || t === "pr_merged")).toEqual(["auto_merged"]);
      expect(double.pulls(pr.repo)).toHaveLength(1);
      // One comment of each kind on the issue: "working on it" and "merged".
      expect(
        double.comments(pr.repo, pr.issue).map((c) => /:issue_comment:(\w+) -->/.exec(c.body)?.[1]),
      ).toEqual(["assigned", "completed"]);
      expect(containersLabelled(`optio.task=${pr.taskId}`)).toEqual([]);
      expect(containersLabelled(`optio.task=${reviewTask!.id}`)).toEqual([]);
      if (delivery === "polling") {
        // Polling read the PR with conditional requests: unchanged answers were free 304s.
        const prReads = double.requests.filter(
          (r) => r.method === "GET" && r.path === `/repos/acme/${pr.repo.name}/pulls/${pr.number}`,
        );
        expect(prReads.filter((r) => r.status === 304).length).toBeGreaterThan(0);
        expect(prReads.filter((r) => r.status === 304 && r.counted)).toEqual([]);
      }
    },
  );
});

describe("interruptions", () => {
  it("cancel during the fix-up run: its container is gone, the task cancelled, nothing merged", async () => {
    const pr = await throughFirstPr("loop-cancel", "webhooks");
    // The check's summary reaches the fix-up prompt: it keeps the fake Claude busy for a minute.
    const { fixUp } = await throughFixUp(pr, "webhooks", "1 failing: slow suite FAKE_SLEEP=60");
    await eventually(
      "the fix-up container up",
      async () => ({
        run: (await stack.ctx.prisma.run.findUniqueOrThrow({ where: { id: fixUp.id } })).state,
        containers: containersLabelled(`optio.task=${pr.taskId}`).length,
      }),
      (seen) => seen.run === "running" && seen.containers === 1,
      60_000,
    );
    await stack.ctx.http.post(`/api/tasks/${pr.taskId}/cancel`).set(auth()).send({}).expect(200);
    await eventually(
      "container removed",
      () => containersLabelled(`optio.task=${pr.taskId}`),
      (ids) => ids.length === 0,
      30_000,
    );
    expect((await taskOf(pr.taskId)).state).toBe("cancelled");
    expect((await stack.ctx.prisma.run.findUniqueOrThrow({ where: { id: fixUp.id } })).state).toBe(
      "cancelled",
    );

    // CI turning green afterwards starts nothing: no review, no merge, the issue stays open.
    const head = double.branchSha(pr.repo, pr.branch)!;
    double.setCheckRun(pr.repo, { sha: head }, { name: "test", status: "completed", conclusion: "success" });
    await deliver("webhooks");
    await eventually(
      "nothing owed",
      () => stack.ctx.prLoop.store.owed(100),
      (owed) => owed.length === 0,
    );
    expect((await taskOf(pr.taskId)).state).toBe("cancelled");
    expect(await stack.ctx.prisma.task.count({ where: { parentId: pr.taskId } })).toBe(0);
    expect(await stack.ctx.prisma.run.count({ where: { taskId: pr.taskId } })).toBe(2);
    expect(mergeRequests(pr.repo, pr.number)).toHaveLength(0);
    expect(double.pulls(pr.repo).map((p) => [p.state, p.pull!.merged])).toEqual([["open", false]]);
    expect(double.getIssue(pr.repo, pr.issue).state).toBe("open");
  });

  it("cancel during the review: the review's container is gone, no review posted, nothing merged", async () => {
    // The issue's text reaches the first run's and the review's prompts: each takes a while.
    const pr = await throughFirstPr("loop-cancel-review", "webhooks", "Add a greeting file. FAKE_SLEEP=15");
    double.setCheckRun(
      pr.repo,
      { pull: pr.number },
      { name: "test", status: "completed", conclusion: "success" },
    );
    await deliver("webhooks");
    const review = await eventually(
      "the review subtask running",
      () => stack.ctx.prisma.task.findFirst({ where: { parentId: pr.taskId, taskType: "review" } }),
      (row) => row?.state === "running",
      60_000,
    );
    await eventually(
      "the review container up",
      () => containersLabelled(`optio.task=${review!.id}`),
      (ids) => ids.length === 1,
      30_000,
    );
    await stack.ctx.http.post(`/api/tasks/${pr.taskId}/cancel`).set(auth()).send({}).expect(200);
    await eventually(
      "the review container removed",
      () => containersLabelled(`optio.task=${review!.id}`),
      (ids) => ids.length === 0,
      30_000,
    );
    expect((await taskOf(pr.taskId)).state).toBe("cancelled");
    // Cancelled with its parent, not finished on its own: the run was stopped.
    expect((await taskOf(review!.id)).state).toBe("cancelled");
    expect(
      await stack.ctx.prisma.run.findMany({ where: { taskId: review!.id }, select: { state: true } }),
    ).toEqual([{ state: "cancelled" }]);
    await deliver("webhooks");
    await eventually(
      "nothing owed",
      () => stack.ctx.prLoop.store.owed(100),
      (owed) => owed.length === 0,
    );
    expect(double.world.reviews(double.world.repo("acme", pr.repo.name), pr.number)).toEqual([]);
    expect(mergeRequests(pr.repo, pr.number)).toHaveLength(0);
    expect(double.pulls(pr.repo).map((p) => [p.state, p.pull!.merged])).toEqual([["open", false]]);
    expect(double.getIssue(pr.repo, pr.issue).state).toBe("open");
  });

  it("the answer to 'create the PR' is lost after GitHub created it: one PR, found and recorded", async () => {
    // GitHub creates the PR, the API never hears back (as if it died before writing the state);
    // the ledger's next attempt looks for the PR first.
    double.failNext({ status: 502, afterApply: true, match: /^POST \/repos\/acme\/loop-lost\/pulls$/ });
    const pr = await throughFirstPr("loop-lost", "webhooks");
    const creates = double.requests.filter(
      (r) => r.method === "POST" && r.path === "/repos/acme/loop-lost/pulls",
    );
    expect(creates[0]!.status).toBe(502);
    expect(double.pulls(pr.repo)).toHaveLength(1);
    const effect = await stack.ctx.prisma.sideEffect.findFirstOrThrow({
      where: { taskId: pr.taskId, purpose: `open_pr:${pr.branch}` },
    });
    expect(effect).toMatchObject({
      state: "done",
      result: expect.objectContaining({ number: pr.number, found: true }),
    });
  });
});
