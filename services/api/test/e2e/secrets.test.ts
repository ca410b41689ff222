// Secrets end to end with real parts: tokens stored through POST /api/secrets reach a run only in the
// claim reply; the git server demands the token (smart HTTP, Basic auth) for clone and push; a key
// the agent prints is stored as [REDACTED]; no value shows up in runner or API output.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { startGitServer, type GitServer } from "../../../runner/src/testing/git-server";
import { eventually, startE2eStack, type E2eStack, type RunnerProcess } from "./stack";

jest.setTimeout(120_000);

const gitToken = `ghs_${randomBytes(18).toString("hex")}`;
const anthropicKey = `sk-ant-api03-${randomBytes(18).toString("hex")}`;
const apiLog: string[] = [];
/** JSON of raw rows (counters are bigints). */
const bigints = (_key: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
let stack: E2eStack;
let git: GitServer;
let runner: RunnerProcess;

beforeAll(async () => {
  stack = await startE2eStack({
    logStream: new Writable({
      write(chunk, _encoding, done) {
        apiLog.push(String(chunk));
        done();
      },
    }),
  });
  git = await startGitServer({ username: "x-access-token", password: gitToken });
  runner = await stack.startRunner("e2e-secrets");
}, 15 * 60_000);
afterAll(async () => {
  await stack.close();
  await git.close();
});

const auth = () => ({ authorization: `Bearer ${stack.token}` });
const storeSecret = (name: string, value: string) =>
  stack.ctx.http.post("/api/secrets").set(auth()).send({ name, value }).expect(201);
let repoCount = 0;

async function runTask(body: Record<string, unknown>) {
  const repo = `secret-repo${++repoCount}`;
  git.createRepo(repo);
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({ title: `Secrets ${repo}`, repoUrl: git.url(repo), ...body })
    .expect(201);
  const id = res.body.task.id as string;
  const task = await eventually(
    "task ends",
    () => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } }),
    (t) => ["completed", "failed", "needs_attention"].includes(t.state),
    90_000,
  );
  const logs = await stack.ctx.http.get(`/api/tasks/${id}/logs?limit=1000`).set(auth()).expect(200);
  return { task, repo, logs: logs.body.logs as { content: string }[], logsText: logs.text };
}

it("clones and pushes through a git server that requires the stored token", async () => {
  await storeSecret("GITHUB_TOKEN", gitToken);
  const { task, repo } = await runTask({ agentType: "shell", prompt: "echo pushed > pushed.txt" });
  expect(task.state).toBe("completed");
  expect(git.git(repo, ["show", `${task.branchName}:pushed.txt`]).trim()).toBe("pushed");
  expect(git.seen).toContain(`x-access-token:${gitToken}`);
});

it("a key the agent prints is stored as [REDACTED]; a shell run gets no agent key", async () => {
  await storeSecret("ANTHROPIC_API_KEY", anthropicKey);
  const claude = await runTask({ agentType: "claude", prompt: "Show the key FAKE_PRINT_SECRET" });
  expect(claude.task.state).toBe("completed");
  expect(claude.logs.some((l) => l.content === "the key is [REDACTED]")).toBe(true);
  expect(claude.logsText).not.toContain(anthropicKey);

  const shell = await runTask({
    agentType: "shell",
    prompt: 'echo "anthropic=[${ANTHROPIC_API_KEY:-unset}] git=[${OPTIO_GIT_SECRET:-unset}]"; echo x > x.txt',
  });
  expect(shell.task.state).toBe("completed");
  expect(shell.logs.some((l) => l.content === "anthropic=[unset] git=[unset]")).toBe(true);
});

it("without the token the clone is refused and the run fails with CLONE_FAILED", async () => {
  await stack.ctx.http.delete("/api/secrets/GITHUB_TOKEN").set(auth()).expect(200);
  const { task } = await runTask({ agentType: "shell", prompt: "echo never > never.txt" });
  expect(task.state).toBe("failed");
  expect(task.errorMessage).toMatch(/CLONE_FAILED/);
});

it("no value appears in stored logs, rows, events, or the API's and runner's output", async () => {
  const rows = JSON.stringify(
    [
      await stack.ctx.prisma.$queryRaw`SELECT * FROM task_logs`,
      await stack.ctx.prisma.$queryRaw`SELECT * FROM runs`,
      await stack.ctx.prisma.$queryRaw`SELECT * FROM tasks`,
      await stack.ctx.prisma.$queryRaw`SELECT * FROM outbox_events`,
    ],
    bigints,
  );
  const events = JSON.stringify(stack.ctx.events.events);
  const outputs = { rows, events, api: apiLog.join(""), runner: runner.output.join("") };
  expect(outputs.api.length).toBeGreaterThan(0);
  expect(outputs.runner.length).toBeGreaterThan(0);
  for (const secret of [gitToken, anthropicKey])
    for (const [where, text] of Object.entries(outputs))
      expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
});
