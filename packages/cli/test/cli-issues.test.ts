// `optio issue list|assign`, the real CLI process against a real API (Postgres, NATS) whose GitHub
// is the stateful double: responses parsed with the API's own contracts.
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { StaticSecretReader } from "../../../services/api/src/secrets/static-secret-reader";
import { createTestContext, type TestContext } from "../../../services/api/test/helpers/test-context";
import { startGitHubDouble, type GitHubDouble } from "../../../services/api/test/support/github-double";
import { runCli } from "./cli-process";

jest.setTimeout(120_000); // each CLI process starts tsx: seconds on a loaded machine

let double: GitHubDouble;
let ctx: TestContext;
let env: Record<string, string>;
let repoId: string;
const widgets = { owner: "acme", name: "widgets" };

beforeAll(async () => {
  double = await startGitHubDouble();
  double.createRepo("acme", "widgets");
  ctx = await createTestContext({
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
    config: { OPTIO_GITHUB_URL: double.webUrl },
  });
  await ctx.app.listen({ port: 0, host: "127.0.0.1" });
  const token = await ctx.adminToken();
  env = {
    OPTIO_SERVER: `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`,
    OPTIO_TOKEN: token,
    XDG_CONFIG_HOME: mkdtempSync(path.join(os.tmpdir(), "optio-cli-")),
  };
  const repo = await ctx.http
    .post("/api/repos")
    .set("authorization", `Bearer ${token}`)
    .send({ repoUrl: `${double.webUrl}/acme/widgets` })
    .expect(201);
  repoId = repo.body.repo.id;
});
afterAll(async () => {
  await ctx?.close();
  await double?.close();
});

it("lists a repository's issues, assigns one (once), and shows its task", async () => {
  const crash = double.addIssue(widgets, { title: "Crash on save", body: "Twice in a row" });
  double.addIssue(widgets, { title: "Typo in README" });

  const listed = await runCli(["issue", "list", "--repo", repoId], env);
  expect(listed).toMatchObject({ code: 0, stderr: "" });
  const lines = listed.stdout.trim().split("\n");
  expect(lines[0]).toMatch(/^#\s+STATE\s+TASK\s+TASK STATE\s+TITLE$/);
  expect(lines.find((line) => line.includes("Crash on save"))).toMatch(
    new RegExp(`^${crash.number}\\s+open\\s+Crash`),
  );

  const assigned = await runCli(["issue", "assign", String(crash.number), "--repo", repoId, "--json"], env);
  expect(assigned.code).toBe(0);
  const task = JSON.parse(assigned.stdout).task;
  expect(task).toMatchObject({ state: "queued", metadata: { issueNumber: crash.number } });
  expect(await ctx.prisma.task.count({ where: { id: task.id } })).toBe(1);

  // Again: the same task (the API answers 200 with the issue's live task).
  const again = await runCli(["issue", "assign", String(crash.number), "--repo", repoId], env);
  expect(again).toMatchObject({ code: 0, stdout: `${task.id}\n` });
  expect(await ctx.prisma.task.count()).toBe(1);

  const json = await runCli(["issue", "list", "--repo", repoId, "--state", "all", "--json"], env);
  const body = JSON.parse(json.stdout);
  expect(body).toMatchObject({ hasMore: false, failedRepos: [] });
  expect(body.issues.find((issue: { number: number }) => issue.number === crash.number)).toMatchObject({
    title: "Crash on save",
    optioTask: { taskId: task.id, state: "queued" },
  });
  const human = await runCli(["issue", "list", "--repo", repoId], env);
  expect(human.stdout).toMatch(
    new RegExp(`^${crash.number}\\s+open\\s+${task.id}\\s+queued\\s+Crash on save$`, "m"),
  );
});

it("an issue that does not exist: exit 1 with the server's error; a bad flag: usage (64)", async () => {
  const missing = await runCli(["issue", "assign", "9999", "--repo", repoId], env);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("Issue #9999 not found");
  const bad = await runCli(["issue", "list", "--repo", repoId, "--state", "merged"], env);
  expect(bad.code).toBe(64);
});
