// GET /api/issues and POST /api/issues/assign against the GitHub double (real Octokit), with a real
// API, Postgres and NATS.
import { StaticSecretReader } from "../../src/secrets/static-secret-reader";
import type { SecretReader } from "../../src/secrets/secret-reader";
import { eventually } from "../helpers/eventually";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { startGitHubDouble, type GitHubDouble } from "../support/github-double";
import { testSecret } from "../../../runner/src/testing/fixtures";

/** A token GitHub no longer accepts (generated: no credential literal in tests). */
const REVOKED_TOKEN = testSecret("ghp_");

let double: GitHubDouble;
let ctx: TestContext;
let admin: string;
let repoId: string;
const widgets = { owner: "Acme", name: "Widgets" };

beforeAll(async () => {
  double = await startGitHubDouble();
  double.createRepo("Acme", "Widgets", { defaultBranch: "develop" });
  double.createRepo("acme", "locked");
  ctx = await createTestContext({
    config: { OPTIO_GITHUB_URL: double.webUrl },
    // `locked` has a per-repo token GitHub does not accept; its id is only known once connected.
    secrets: lockedRepoReader(),
  });
  admin = await ctx.adminToken();
  const res = await ctx.http
    .post("/api/repos")
    .set("authorization", `Bearer ${admin}`)
    .send({ repoUrl: `${double.webUrl}/acme/widgets.git` })
    .expect(201);
  repoId = res.body.repo.id;
});
afterAll(async () => {
  await ctx?.close();
  await double?.close();
});
let lockedId: string | undefined;

/** The double's token for every repo, except a token GitHub does not accept for `locked`. */
function lockedRepoReader(): SecretReader {
  const reader: SecretReader = {
    resolve: async (name, id) =>
      id && id === lockedId
        ? REVOKED_TOKEN
        : new StaticSecretReader({ GITHUB_TOKEN: double.token }).resolve(name, id),
    scope: async () => reader,
    scopeFrom: () => reader,
  };
  return reader;
}

const auth = () => ({ authorization: `Bearer ${admin}` });
const taskRows = () => ctx.prisma.task.count();

it("connecting a GitHub repo records its owner/name and default branch from GitHub", async () => {
  const repo = await ctx.prisma.repo.findUniqueOrThrow({ where: { id: repoId } });
  expect(repo).toMatchObject({ fullName: "Acme/Widgets", defaultBranch: "develop" });
});

it("lists issues without pull requests, unassigned first, and assigns one exactly once", async () => {
  const bug = double.addIssue(widgets, {
    title: "Crash on save",
    body: "Steps: save twice",
    labels: ["bug"],
  });
  double.addComment(widgets, bug.number, "Also on Linux", "alice");
  const other = double.addIssue(widgets, { title: "Typo in README" });
  await double.commit(widgets, "feature", { path: "f.txt", content: "f", from: "develop" });
  double.world.createPull(double.world.repo("acme", "widgets"), {
    title: "A PR",
    head: "feature",
    base: "develop",
  });

  const listed = await ctx.http.get(`/api/issues?repoId=${repoId}`).set(auth()).expect(200);
  expect(listed.body.issues.map((issue: { number: number }) => issue.number).sort()).toEqual(
    [bug.number, other.number].sort(),
  );
  expect(listed.body).toMatchObject({ hasMore: false, failedRepos: [], limit: 50, offset: 0 });
  expect(listed.body.issues.find((issue: { number: number }) => issue.number === bug.number)).toMatchObject({
    title: "Crash on save",
    labels: ["bug"],
    hasOptioLabel: false,
    source: "github",
    optioTask: null,
    repo: { id: repoId, fullName: "Acme/Widgets" },
  });

  const before = await taskRows();
  const [first, second] = await Promise.all([
    ctx.http.post("/api/issues/assign").set(auth()).send({ repoId, issueNumber: bug.number }),
    ctx.http
      .post("/api/issues/assign")
      .set(auth())
      .send({ repoId, issueNumber: bug.number, agentType: "claude-code" }),
  ]);
  expect([first.status, second.status].sort()).toEqual([200, 201]);
  expect(first.body.task.id).toBe(second.body.task.id);
  expect(await taskRows()).toBe(before + 1);
  const task = (first.status === 201 ? first : second).body.task;
  expect(task).toMatchObject({
    state: "queued",
    repoBranch: "develop",
    metadata: { issueNumber: bug.number },
  });
  expect(task.metadata.issueUrl).toBe(`${double.webUrl}/Acme/Widgets/issues/${bug.number}`);
  const row = await ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
  expect(row.prompt).toContain("Crash on save");
  expect(row.prompt).toContain("Steps: save twice");
  expect(row.prompt).toContain("Also on Linux");

  const again = await ctx.http
    .post("/api/issues/assign")
    .set(auth())
    .send({ repoId, issueNumber: bug.number })
    .expect(200);
  expect(again.body.task.id).toBe(task.id);

  await eventually(
    "label and comment on the issue",
    () => ({
      labels: double.getIssue(widgets, bug.number).labels,
      comments: double.comments(widgets, bug.number).filter((c) => c.body.includes(task.id)).length,
    }),
    (seen) => seen.labels.includes("optio") && seen.comments === 1,
    20_000,
  );
  // The worker's ledger keeps a re-run from commenting twice.
  await ctx.prisma.sideEffect.updateMany({
    where: { taskId: task.id },
    data: { state: "pending", nextAttemptAt: new Date() },
  });
  await ctx.sideEffects.drain();
  expect(double.comments(widgets, bug.number).filter((c) => c.body.includes(task.id))).toHaveLength(1);

  const after = await ctx.http.get(`/api/issues?repoId=${repoId}`).set(auth()).expect(200);
  expect(after.body.issues.map((issue: { number: number }) => issue.number)).toEqual([
    other.number,
    bug.number,
  ]);
  expect(after.body.issues[1]).toMatchObject({
    hasOptioLabel: true,
    optioTask: { taskId: task.id, state: "queued" },
  });
});

it("answers 404 for an issue number that does not exist or is a pull request, writing nothing", async () => {
  const before = await taskRows();
  const missing = await ctx.http
    .post("/api/issues/assign")
    .set(auth())
    .send({ repoId, issueNumber: 9999 })
    .expect(404);
  expect(missing.body).toMatchObject({ code: "ISSUE_NOT_FOUND", details: [{ path: "body.issueNumber" }] });
  const pr = double.pulls(widgets)[0]!;
  await ctx.http.post("/api/issues/assign").set(auth()).send({ repoId, issueNumber: pr.number }).expect(404);
  const unknownRepo = await ctx.http
    .post("/api/issues/assign")
    .set(auth())
    .send({ repoId: "00000000-0000-4000-8000-000000000000", issueNumber: 1 })
    .expect(404);
  expect(unknownRepo.body.code).toBe("REPO_NOT_FOUND");
  expect(await taskRows()).toBe(before);
});

it("rejects bad input with a 400 naming the field", async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ repoId, issueNumber: "7" }, "body.issueNumber"],
    [{ repoId, issueNumber: -1 }, "body.issueNumber"],
    [{ repoId, issueNumber: 1.5 }, "body.issueNumber"],
    [{ issueNumber: 1 }, "body.repoId"],
    [{ repoId: "nope", issueNumber: 1 }, "body.repoId"],
    [{ repoId, issueNumber: 1, agentType: "gpt" }, "body.agentType"],
    [{ repoId, issueNumber: 1, extra: true }, "body"],
  ];
  for (const [body, path] of cases) {
    const res = await ctx.http.post("/api/issues/assign").set(auth()).send(body);
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: "VALIDATION_FAILED" });
    expect(JSON.stringify(res.body.details)).toContain(path);
  }
  for (const query of ["state=weird", "limit=0", "limit=101", "offset=-1", "repoId=x"]) {
    const res = await ctx.http.get(`/api/issues?${query}`).set(auth());
    expect({ query, status: res.status }).toEqual({ query, status: 400 });
  }
});

it("a token GitHub rejects: a clear 422 on assign, a reported (not fatal) repo in the list", async () => {
  const locked = await ctx.http
    .post("/api/repos")
    .set(auth())
    .send({ repoUrl: `${double.webUrl}/acme/locked`, defaultBranch: "main" });
  // Connecting already reads GitHub with the repo's token... which is only known by id afterwards,
  // so the connection itself used the global token.
  expect(locked.status).toBe(201);
  lockedId = locked.body.repo.id;
  double.addIssue({ owner: "acme", name: "locked" }, { title: "Locked issue" });
  const before = await taskRows();
  const res = await ctx.http
    .post("/api/issues/assign")
    .set(auth())
    .send({ repoId: lockedId, issueNumber: 1 })
    .expect(422);
  expect(res.body.code).toBe("PLATFORM_AUTH_FAILED");
  expect(JSON.stringify(res.body)).not.toContain(REVOKED_TOKEN);
  expect(await taskRows()).toBe(before);

  const all = await ctx.http.get("/api/issues").set(auth()).expect(200);
  expect(all.body.failedRepos).toEqual([
    expect.objectContaining({ repoId: lockedId, code: "PLATFORM_AUTH_FAILED" }),
  ]);
  expect(all.body.issues.length).toBeGreaterThan(0);
});
