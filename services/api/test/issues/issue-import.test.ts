// Auto-import of issues labelled `optio` (repo setting autoImportIssues) against the GitHub double
// with the real Octokit client, a real API, Postgres and NATS: by webhook (delivered once, twice, and
// as a fresh delivery), by the periodic sync alone, with two API replicas racing, and with the setting
// off. Every import goes through the assign path: one task per issue, one comment, no second label.
import type { AddressInfo } from "node:net";
import { testSecret } from "../../../runner/src/testing/fixtures";
import { StaticSecretReader } from "../../src/secrets/static-secret-reader";
import { eventually } from "../helpers/eventually";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { startGitHubDouble, type GitHubDouble, type RepoRef } from "../support/github-double";

jest.setTimeout(90_000);

const hookSecret = testSecret("whsec-");
let double: GitHubDouble;
let ctx: TestContext;
let admin: string;
let hookUrl: string;

const auth = () => ({ authorization: `Bearer ${admin}` });

beforeAll(async () => {
  double = await startGitHubDouble();
  ctx = await createTestContext({
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
    config: { OPTIO_GITHUB_URL: double.webUrl, GITHUB_WEBHOOK_SECRET: hookSecret },
  });
  admin = await ctx.adminToken();
  await ctx.app.listen({ port: 0, host: "127.0.0.1" });
  hookUrl = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}/api/webhooks/github`;
});
afterAll(async () => {
  await ctx?.close();
  await double?.close();
});

/** A repo on the double, connected with the setting given, with or without a webhook. */
async function connect(name: string, options: { autoImportIssues?: boolean; webhook: boolean }) {
  const repo: RepoRef = double.createRepo("acme", name);
  if (options.webhook) double.addWebhook(repo, { url: hookUrl, secret: hookSecret });
  const body = { repoUrl: `${double.webUrl}/acme/${name}`, autoImportIssues: options.autoImportIssues };
  const res = await ctx.http.post("/api/repos").set(auth()).send(body).expect(201);
  expect(res.body.repo.autoImportIssues).toBe(options.autoImportIssues ?? false);
  return { repo, repoId: res.body.repo.id as string, repoUrl: res.body.repo.repoUrl as string };
}

const tasksOf = (repoUrl: string, issueNumber: number) =>
  ctx.prisma.task.findMany({
    where: { repoUrl, metadata: { path: ["issueNumber"], equals: issueNumber } },
  });

const optioComments = (repo: RepoRef, number: number) =>
  double.comments(repo, number).filter((comment) => comment.body.includes("<!-- optio:"));

const labelRequests = (repo: RepoRef, number: number) =>
  double.requests.filter(
    (r) =>
      r.method === "POST" && r.path.endsWith(`/repos/${repo.owner}/${repo.name}/issues/${number}/labels`),
  );

/** Every side effect performed and every delivery they caused received. */
async function settle() {
  await double.webhooksIdle();
  await ctx.sideEffects.drain();
  await double.webhooksIdle();
}

it("a webhook `issues.labeled` imports the issue once: one task, one comment, no second label", async () => {
  const { repo, repoUrl } = await connect("hooked", { autoImportIssues: true, webhook: true });
  const issue = double.addIssue(repo, { title: "Crash on start", body: "Stack trace below" });
  double.labelIssue(repo, issue.number, ["bug"]);
  await double.webhooksIdle();
  expect(await tasksOf(repoUrl, issue.number)).toHaveLength(0);

  double.labelIssue(repo, issue.number, ["optio"]);
  await double.webhooksIdle();
  const [task, ...others] = await tasksOf(repoUrl, issue.number);
  expect(others).toHaveLength(0);
  expect(task).toMatchObject({ state: "queued", createdBy: null, title: expect.stringContaining("Crash") });
  expect(task!.prompt).toContain("Stack trace below");
  await eventually(
    "the assigned comment",
    () => optioComments(repo, issue.number),
    (comments) => comments.length === 1 && comments[0]!.body.includes(task!.id),
    20_000,
  );
  await settle();
  expect(labelRequests(repo, issue.number)).toHaveLength(0);
  expect(await tasksOf(repoUrl, issue.number)).toHaveLength(1);
  expect(optioComments(repo, issue.number)).toHaveLength(1);
  const history = await ctx.prisma.taskEvent.findFirstOrThrow({ where: { taskId: task!.id } });
  expect(history).toMatchObject({ actor: "system", userId: null });
});

it("a delivery sent twice, redelivered, or a second labelled event never makes a second task", async () => {
  const { repo, repoUrl } = await connect("twice", { autoImportIssues: true, webhook: true });
  const issue = double.addIssue(repo, { title: "Twice" });
  await double.webhooksIdle();
  double.setWebhookMode("manual");
  try {
    double.labelIssue(repo, issue.number, ["optio"]);
    const [labeled] = double.heldWebhooks();
    await double.flushWebhooks({ duplicate: true });
    await double.redeliver(labeled!.id);
    // A fresh delivery of the same fact (GitHub's id differs when the label is added again).
    const again = await double.sendWebhook({
      url: hookUrl,
      secret: hookSecret,
      event: "issues",
      payload: JSON.parse(labeled!.body),
    });
    expect(again.status).toBe(202);
  } finally {
    double.setWebhookMode("auto");
  }
  const statuses = double.deliveries.filter((d) => d.event === "issues").map((d) => d.status);
  expect(statuses.slice(-3)).toEqual([202, 200, 200]);
  await eventually(
    "the assigned comment",
    () => optioComments(repo, issue.number).length,
    (count) => count === 1,
    20_000,
  );
  await settle();
  expect(await tasksOf(repoUrl, issue.number)).toHaveLength(1);
  expect(optioComments(repo, issue.number)).toHaveLength(1);
});

it("the sync alone imports labelled open issues once, even with two API replicas racing", async () => {
  const { repo, repoUrl } = await connect("synced", { autoImportIssues: true, webhook: false });
  const labelled = [1, 2, 3].map((n) => double.addIssue(repo, { title: `Labelled ${n}`, labels: ["optio"] }));
  const unlabelled = double.addIssue(repo, { title: "Not for Optio", labels: ["bug"] });
  const closed = double.addIssue(repo, { title: "Done already", labels: ["optio"], state: "closed" });
  // A second API on the same database: another replica with its own sync.
  const replica = await createTestContext({
    databaseUrl: ctx.databaseUrl,
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
    config: { OPTIO_GITHUB_URL: double.webUrl },
  });
  try {
    const results = await Promise.all([
      ctx.issueImporter.sync(),
      replica.issueImporter.sync(),
      ctx.issueImporter.sync(),
    ]);
    expect(results.reduce((sum, result) => sum + result.imported, 0)).toBe(3);
    await replica.sideEffects.drain();
  } finally {
    await replica.close();
  }
  for (const issue of labelled) {
    expect(await tasksOf(repoUrl, issue.number)).toHaveLength(1);
  }
  expect(await tasksOf(repoUrl, unlabelled.number)).toHaveLength(0);
  expect(await tasksOf(repoUrl, closed.number)).toHaveLength(0);
  await eventually(
    "one comment on each imported issue",
    () => labelled.map((issue) => optioComments(repo, issue.number).length),
    (counts) => counts.every((count) => count === 1),
    20_000,
  );
  await settle();
  for (const issue of labelled) {
    expect(optioComments(repo, issue.number)).toHaveLength(1);
    expect(labelRequests(repo, issue.number)).toHaveLength(0);
  }

  // Nothing new: nothing imported. A cancelled task is not started again behind the user's back.
  const [first] = await tasksOf(repoUrl, labelled[0]!.number);
  await ctx.http.post(`/api/tasks/${first!.id}/cancel`).set(auth()).expect(200);
  expect(await ctx.issueImporter.sync()).toEqual({ imported: 0 });
  expect(await tasksOf(repoUrl, labelled[0]!.number)).toHaveLength(1);
});

it("the periodic sync runs on its own when started", async () => {
  const { repo, repoUrl } = await connect("periodic", { autoImportIssues: true, webhook: false });
  const issue = double.addIssue(repo, { title: "Picked up later", labels: ["optio"] });
  const timed = await createTestContext({
    databaseUrl: ctx.databaseUrl,
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
    config: { OPTIO_GITHUB_URL: double.webUrl, OPTIO_ISSUE_SYNC_MS: 1_000 },
  });
  try {
    timed.issueImporter.start();
    await eventually(
      "the issue's task",
      () => tasksOf(repoUrl, issue.number),
      (tasks) => tasks.length === 1,
      20_000,
    );
  } finally {
    await timed.close();
  }
});

it("with the setting off, neither a labelled webhook nor the sync imports anything", async () => {
  const { repo, repoId, repoUrl } = await connect("manual", { webhook: true });
  const issue = double.addIssue(repo, { title: "Leave me" });
  double.labelIssue(repo, issue.number, ["optio"]);
  await double.webhooksIdle();
  await ctx.issueImporter.sync();
  expect(await tasksOf(repoUrl, issue.number)).toHaveLength(0);
  expect(optioComments(repo, issue.number)).toHaveLength(0);

  // Turned on later: the sync picks the labelled issue up.
  const on = await ctx.http.patch(`/api/repos/${repoId}`).set(auth()).send({ autoImportIssues: true });
  expect(on.status).toBe(200);
  expect(on.body.repo.autoImportIssues).toBe(true);
  await ctx.issueImporter.sync();
  expect(await tasksOf(repoUrl, issue.number)).toHaveLength(1);
});

it("the setting is validated like every repo setting: 400 naming the field", async () => {
  const { repoId } = await connect("validated", { webhook: false });
  for (const value of ["yes", 1, null]) {
    const patch = await ctx.http.patch(`/api/repos/${repoId}`).set(auth()).send({ autoImportIssues: value });
    expect({ status: patch.status, code: patch.body.code }).toEqual({
      status: 400,
      code: "VALIDATION_FAILED",
    });
    expect(JSON.stringify(patch.body.details)).toContain("autoImportIssues");
  }
  const create = await ctx.http
    .post("/api/repos")
    .set(auth())
    .send({ repoUrl: `${double.webUrl}/acme/other`, autoImportIssues: "true" });
  expect(create.status).toBe(400);
  expect(JSON.stringify(create.body.details)).toContain("body.autoImportIssues");
  const row = await ctx.prisma.repo.findUniqueOrThrow({ where: { id: repoId } });
  expect(row.autoImportIssues).toBe(false);
});
