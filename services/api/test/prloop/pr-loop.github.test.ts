// The PR loop against the GitHub double with the real Octokit client: a failing check starts one
// fix-up run, the fixed head's green checks merge the PR once and complete the task. The same with
// webhooks delivered as they happen, delivered twice and in reverse order, and with polling only.
import type { AddressInfo } from "node:net";
import pino from "pino";
import { testSecret } from "../../../runner/src/testing/fixtures";
import { GitPlatforms } from "../../src/platform/platform-registry";
import { PlatformHosts } from "../../src/platform/platform-hosts";
import { PlatformPrAdapter } from "../../src/prloop/platform-pr.adapter";
import { StaticSecretReader } from "../../src/secrets/static-secret-reader";
import { eventually } from "../helpers/eventually";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { startGitHubDouble, type GitHubDouble, type RepoRef } from "../support/github-double";
import { apiFor, createTask, driveTo, stateOf, type Api } from "../tasks/task-fixtures";

jest.setTimeout(90_000);

const secret = testSecret("whsec-");
let double: GitHubDouble;
let platforms: GitPlatforms;
let ctx: TestContext;
let api: Api;
let hookUrl: string;

beforeAll(async () => {
  double = await startGitHubDouble();
  platforms = new GitPlatforms({
    hosts: new PlatformHosts({ githubUrl: double.webUrl }),
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
    logger: pino({ level: "silent" }),
    backoff: { unitMs: 20, maxWaitSeconds: 5 },
  });
  ctx = await createTestContext({
    platform: new PlatformPrAdapter(platforms),
    // The side-effect worker's clients (issue comments, close) reach the same double.
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
    allowedRepoHosts: ["127.0.0.1"],
    config: { GITHUB_WEBHOOK_SECRET: secret, OPTIO_PR_SWEEP_MS: 200, OPTIO_GITHUB_URL: double.webUrl },
  });
  await ctx.app.listen({ port: 0, host: "127.0.0.1" });
  hookUrl = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}/api/webhooks/github`;
  api = await apiFor(ctx);
  ctx.prLoop.watcher.start();
});
afterAll(async () => {
  await ctx.close();
  await double.close();
});

type Delivery = "webhooks" | "shuffled" | "polling";

/** A connected repo on the double, and a task whose run opened a PR from its branch. */
async function taskWithPr(name: string, delivery: Delivery) {
  const repo: RepoRef = double.createRepo("acme", name);
  const repoUrl = `${double.webUrl}/acme/${name}`;
  if (delivery !== "polling") double.addWebhook(repo, { url: hookUrl, secret });
  await api
    .auth(ctx.http.post("/api/repos"))
    .send({ repoUrl, autoResume: true, autoMerge: true, mergeMethod: "squash" })
    .expect(201);
  const branch = `optio/${name}-fix`;
  await double.commit(repo, branch, { path: "fix.txt", content: "first try\n" });
  const client = (await platforms.forRepo({ id: null, repoUrl }))!.platform;
  const pull = await client.createPull(repo, {
    head: branch,
    base: "main",
    title: name,
    body: "",
    draft: false,
  });
  const issue = double.addIssue(repo, { title: `Fix ${name}`, body: "It breaks." });
  const task = await createTask(api, { repoUrl, metadata: { issueNumber: issue.number } });
  await driveTo(ctx, task.id, "pr_opened");
  await ctx.prisma.task.update({
    where: { id: task.id },
    data: { prNumber: pull.number, prUrl: pull.url, branchName: branch, sessionId: "session-1" },
  });
  return { repo, branch, number: pull.number, taskId: task.id, issue: issue.number };
}

/** Lets the platform's news reach the loop the way the scenario says. */
async function deliver(delivery: Delivery) {
  // One polling pass (what OPTIO_PR_POLL_MS repeats) reads every followed PR, this task's among them.
  if (delivery === "polling") return ctx.prLoop.watcher.poll();
  if (delivery === "shuffled") await double.flushWebhooks({ reverse: true, duplicate: true });
  await double.webhooksIdle();
}

const mergeRequests = (repo: RepoRef, number: number) =>
  double.requests.filter(
    (r) => r.method === "PUT" && r.path.endsWith(`/repos/${repo.owner}/${repo.name}/pulls/${number}/merge`),
  );

describe.each<Delivery>(["webhooks", "shuffled", "polling"])("the PR loop with %s", (delivery) => {
  it("fixes a failing check once, then merges the green PR once and completes the task", async () => {
    double.setWebhookMode(delivery === "shuffled" ? "manual" : "auto");
    const { repo, branch, number, taskId, issue } = await taskWithPr(`app-${delivery}`, delivery);

    double.setCheckRun(
      repo,
      { pull: number },
      {
        name: "test",
        status: "completed",
        conclusion: "failure",
        summary: "1 failing: sum() of negatives",
      },
    );
    await deliver(delivery);
    const fixUp = await eventually(
      "the fix-up run",
      () => ctx.prisma.run.findMany({ where: { taskId, kind: "resume" } }),
      (runs) => runs.length === 1,
    );
    expect(fixUp[0]!.prompt).toContain("**test**: failure");
    expect(fixUp[0]!.prompt).toContain("sum() of negatives");
    expect(await stateOf(ctx, taskId)).toBe("queued");

    // The fix-up run pushes a fix to the PR's branch (what the runner does) and ends back in pr_opened.
    await driveTo(ctx, taskId, "pr_opened");
    await double.commit(repo, branch, { path: "fix.txt", content: "fixed\n" });
    double.setCheckRun(repo, { pull: number }, { name: "test", status: "completed", conclusion: "success" });
    await deliver(delivery);
    await eventually(
      "completed",
      () => stateOf(ctx, taskId),
      (state) => state === "completed",
      30_000,
    );

    // Late and repeated news changes nothing.
    await deliver(delivery);
    await eventually(
      "nothing owed",
      () => ctx.prLoop.store.owed(100),
      (owed) => owed.length === 0,
    );
    expect(double.pulls(repo).find((pull) => pull.number === number)?.pull?.merged).toBe(true);
    expect(mergeRequests(repo, number)).toHaveLength(1);
    expect(await ctx.prisma.run.count({ where: { taskId, kind: "resume" } })).toBe(1);
    const triggers = (
      await ctx.prisma.taskEvent.findMany({ where: { taskId }, orderBy: { seq: "asc" } })
    ).map((event) => event.trigger);
    expect(triggers.filter((t) => t === "auto_resume_ci_fix")).toHaveLength(1);
    expect(triggers.filter((t) => t === "auto_merged" || t === "pr_merged")).toEqual(["auto_merged"]);

    // The issue the task came from: closed, with one comment naming the merge (performed by the
    // side-effect worker after the merge committed, each once).
    const mergedComments = () =>
      double.comments(repo, issue).filter((c) => c.body.includes("pull request for this issue was merged"));
    await eventually(
      "issue commented and closed",
      () => ({ state: double.getIssue(repo, issue).state, comments: mergedComments().length }),
      (seen) => seen.state === "closed" && seen.comments > 0,
      20_000,
    );
    await deliver(delivery);
    await new Promise((r) => setTimeout(r, 500));
    expect(mergedComments()).toHaveLength(1);
  });
});

describe("user actions on a task with a PR", () => {
  it("resume continues the PR's branch and session, and gives the loop its fix-up budget back", async () => {
    double.setWebhookMode("auto");
    const { branch, taskId } = await taskWithPr("app-resume", "webhooks");
    await ctx.prLoop.watcher.refresh(taskId);
    await ctx.prisma.prWatch.update({ where: { taskId }, data: { autoResumes: 3 } });
    const { machine, work } = ctx.services.tasks;
    await work.run((w) =>
      machine.transition(w, {
        taskId,
        to: "needs_attention",
        trigger: "ci_failing",
        actor: { kind: "system" },
      }),
    );
    await api
      .auth(ctx.http.post(`/api/tasks/${taskId}/resume`))
      .send({ prompt: "Try again" })
      .expect(200);
    const run = await ctx.prisma.run.findFirstOrThrow({ where: { taskId }, orderBy: { attempt: "desc" } });
    expect(run).toMatchObject({ kind: "resume", resumeSessionId: "session-1", prompt: "Try again" });
    expect(await ctx.prisma.task.findUniqueOrThrow({ where: { id: taskId } })).toMatchObject({
      branchName: branch,
    });
    expect(await ctx.prisma.prWatch.findUniqueOrThrow({ where: { taskId } })).toMatchObject({
      autoResumes: 0,
    });
  });

  it("force-redo closes the old PR with a comment and starts over on a new branch; cancel leaves nothing running", async () => {
    double.setWebhookMode("auto");
    const { repo, branch, number, taskId } = await taskWithPr("app-redo", "webhooks");
    await ctx.prLoop.watcher.refresh(taskId);
    await api
      .auth(ctx.http.post(`/api/tasks/${taskId}/force-redo`))
      .send({})
      .expect(200);
    const task = await ctx.prisma.task.findUniqueOrThrow({ where: { id: taskId } });
    expect(task).toMatchObject({ state: "queued", prNumber: null, prUrl: null });
    expect(task.branchName).not.toBe(branch);
    expect(task.branchName).toMatch(/-redo\d+$/);
    await eventually(
      "the old PR closed",
      () => double.pulls(repo).find((pull) => pull.number === number)?.state,
      (state) => state === "closed",
    );
    const comments = double.comments(repo, number).filter((comment) => comment.body.includes("force-redo"));
    expect(comments).toHaveLength(1);
    await eventually(
      "the watch forgotten",
      () => ctx.prisma.prWatch.count({ where: { taskId } }),
      (n) => n === 0,
    );

    await api
      .auth(ctx.http.post(`/api/tasks/${taskId}/cancel`))
      .send({})
      .expect(200);
    expect(
      await ctx.prisma.run.count({ where: { taskId, state: { in: ["queued", "provisioning", "running"] } } }),
    ).toBe(0);
  });
});
