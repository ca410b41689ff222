// A run that pushed commits to a repo on GitHub (the double) ends with one PR and the task in
// pr_opened, whatever is duplicated or interrupted on the way. Runner reports are scripted on the
// wire protocol; the PR is opened by the API's side-effect worker through the real Octokit.
import type { RunSpec } from "@optio/contracts";
import { StaticSecretReader } from "../../src/secrets/static-secret-reader";
import { PrOpener } from "../../src/side-effects/pr-opener";
import { eventually } from "../helpers/eventually";
import { startPrivateNats, type PrivateNats } from "../helpers/private-nats";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { exited, resultOk, started, ScriptedRunner } from "../dispatch/protocol";
import { startGitHubDouble, type GitHubDouble } from "../support/github-double";

let nats: PrivateNats;
let double: GitHubDouble;
let ctx: TestContext;
let auth: { authorization: string };
let runner: ScriptedRunner;
const app = { owner: "acme", name: "app" };

beforeAll(async () => {
  nats = await startPrivateNats();
  double = await startGitHubDouble();
  double.createRepo("acme", "app");
  ctx = await createTestContext({
    nats: nats.forApi,
    config: { OPTIO_GITHUB_URL: double.webUrl },
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
  });
  await ctx.dispatch.server.start();
  auth = { authorization: `Bearer ${await ctx.adminToken()}` };
  await ctx.http
    .post("/api/repos")
    .set(auth)
    .send({ repoUrl: `${double.webUrl}/acme/app` })
    .expect(201);
  runner = new ScriptedRunner(ctx.nats, "runner-pr");
});
afterAll(async () => {
  await ctx?.close();
  await nats?.stop();
  await double?.close();
});

/** A task on acme/app, claimed, started, with its branch really pushed to the double. */
async function pushedRun(title: string) {
  const res = await ctx.http
    .post("/api/tasks")
    .set(auth)
    .send({ title, prompt: "do it", repoUrl: `${double.webUrl}/acme/app`, agentType: "shell" })
    .expect(201);
  const spec = (await runner.claim()) as RunSpec;
  expect(spec.taskId).toBe(res.body.task.id);
  await runner.report(spec, started);
  await double.commit(app, spec.branchName, { path: `${title}.txt`, content: title, from: "main" });
  await runner.report(spec, {
    kind: "log",
    lines: [
      {
        n: 1,
        stream: "stdout",
        type: "text",
        content: `Summary of ${title}`,
        time: new Date().toISOString(),
      },
    ],
  } as never);
  return spec;
}

const taskOf = (id: string) => ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const pullsFrom = (branch: string) => double.pulls(app).filter((pull) => pull.pull!.head === branch);

it("opens one PR for a pushed run, even when the result report is delivered twice", async () => {
  const spec = await pushedRun("first");
  const result = { ...resultOk, branch: spec.branchName };
  const report = await runner.report(spec, result);
  await runner.report(spec, result, report.seq); // the same report again
  await runner.report(spec, exited);
  const task = await eventually(
    "pr_opened",
    () => taskOf(spec.taskId),
    (row) => row.state === "pr_opened",
    30_000,
  );
  const pulls = pullsFrom(spec.branchName);
  expect(pulls).toHaveLength(1);
  expect(task.prNumber).toBe(pulls[0]!.number);
  expect(task.prUrl).toBe(`${double.webUrl}/acme/app/pull/${pulls[0]!.number}`);
  expect(pulls[0]).toMatchObject({ title: "first", pull: { base: "main" } });
  expect(pulls[0]!.body).toContain("Summary of first");
  expect(pulls[0]!.body).toContain(spec.taskId);
  const effect = await ctx.prisma.sideEffect.findFirstOrThrow({ where: { taskId: spec.taskId } });
  expect(effect).toMatchObject({ purpose: `open_pr:${spec.branchName}`, state: "done" });
});

it("a PR created before a crash (state not yet written) is found, not opened twice", async () => {
  await ctx.sideEffects.stop(); // the API "dies" right after creating the PR
  const spec = await pushedRun("second");
  await runner.report(spec, { ...resultOk, branch: spec.branchName });
  const pending = await eventually(
    "open_pr wanted",
    () => ctx.prisma.sideEffect.findFirst({ where: { taskId: spec.taskId } }),
    (row) => row?.state === "pending",
  );
  expect((await taskOf(spec.taskId)).state).toBe("running");
  const opener = new PrOpener({
    prisma: ctx.prisma,
    platforms: ctx.platforms,
    machine: ctx.services.tasks.machine,
    work: ctx.services.tasks.work,
  });
  await opener.perform(pending!); // the PR exists on GitHub; nothing was recorded
  expect(pullsFrom(spec.branchName)).toHaveLength(1);

  ctx.sideEffects.start(); // "restart"
  const task = await eventually(
    "pr_opened after restart",
    () => taskOf(spec.taskId),
    (row) => row.state === "pr_opened",
    30_000,
  );
  expect(pullsFrom(spec.branchName)).toHaveLength(1);
  expect(task.prNumber).toBe(pullsFrom(spec.branchName)[0]!.number);
});

it("a GitHub outage is recorded and retried; the report is applied regardless", async () => {
  double.failNext({ status: 503, times: 6, match: /\/pulls/ });
  const spec = await pushedRun("third");
  await runner.report(spec, { ...resultOk, branch: spec.branchName });
  await eventually(
    "failure recorded",
    () => ctx.prisma.sideEffect.findFirst({ where: { taskId: spec.taskId } }),
    (row) => Boolean(row?.lastError?.includes("unavailable")),
    30_000,
  );
  expect((await ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } })).state).toBe("succeeded");
  await eventually(
    "pr_opened after the outage",
    () => taskOf(spec.taskId),
    (row) => row.state === "pr_opened",
    60_000,
  );
  expect(pullsFrom(spec.branchName)).toHaveLength(1);
}, 90_000);

it("a repo on a plain git host keeps today's behaviour: completed, no PR", async () => {
  const res = await ctx.http
    .post("/api/tasks")
    .set(auth)
    .send({ title: "plain", prompt: "x", repoUrl: "https://git.example.com/acme/plain", agentType: "shell" })
    .expect(201);
  const spec = (await runner.claim()) as RunSpec;
  expect(spec.taskId).toBe(res.body.task.id);
  await runner.report(spec, started);
  await runner.report(spec, { ...resultOk, branch: spec.branchName });
  await eventually(
    "completed",
    () => taskOf(spec.taskId),
    (row) => row.state === "completed",
  );
  expect(await ctx.prisma.sideEffect.count({ where: { taskId: spec.taskId } })).toBe(0);
});
