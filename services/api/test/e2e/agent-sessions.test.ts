// Resume across containers and runners: a run's agent session outlives its container. The first
// run's CLI session files are kept by its runner (a JetStream object store, one object per task)
// and restored into the resume run on another runner; when they are gone, the run starts a new
// session told to continue from the branch, and its log says so. The test image's fake CLIs keep and
// require their session files as the real ones do (a resume of a session that is not there fails).
import { Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/nats-core";
import { AGENT_SESSIONS_BUCKET } from "@optio/contracts";
import { connectNats } from "../../src/nats/connection";
import { eventually, removeRunnerLeftovers, startE2eStack, type E2eStack, type RunnerProcess } from "./stack";

jest.setTimeout(180_000);

let stack: E2eStack;
let nc: NatsConnection;
/** Each test's runners: stopped after it, so the next test's runner is the only one. */
const running: RunnerProcess[] = [];
const startRunner = async (id: string) => {
  const runner = await stack.startRunner(id);
  running.push(runner);
  return runner;
};
afterEach(async () => {
  for (const runner of running.splice(0)) await runner.stop();
});
beforeAll(async () => {
  stack = await startE2eStack();
  nc = await connectNats(stack.nats.url, "agent-sessions-test", stack.nats.tool);
}, 15 * 60_000);
afterAll(async () => {
  await nc?.close();
  for (const id of ["sessions-a", "sessions-b", "sessions-c"]) removeRunnerLeftovers(id);
  await stack?.close();
});

const auth = () => ({ authorization: `Bearer ${stack.token}` });
const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const ended = (state: string) => ["completed", "failed", "needs_attention", "cancelled"].includes(state);
const runsOf = (taskId: string) =>
  stack.ctx.prisma.run.findMany({ where: { taskId }, orderBy: { attempt: "asc" } });
const systemLines = async (taskId: string) =>
  (await stack.ctx.prisma.taskLog.findMany({ where: { taskId, stream: "system" } })).map((l) => l.content);

let repos = 0;
/** A claude task whose first run changes nothing: it ends in needs_attention with its session. */
async function idleTask(runner: RunnerProcess) {
  const name = `sessions${++repos}`;
  stack.git.createRepo(name);
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({
      title: `Sessions ${name}`,
      repoUrl: stack.git.url(name),
      agentType: "claude",
      prompt: "Look around FAKE_NOCHANGE",
    })
    .expect(201);
  const task = await eventually(
    "first run ends",
    () => taskOf(res.body.task.id),
    (t) => ended(t.state),
    60_000,
  );
  expect(task.state).toBe("needs_attention");
  expect(task.sessionId).toBeTruthy();
  const [first] = await runsOf(task.id);
  expect(first!.runnerId).toBe(runner.id);
  return { task, repo: name };
}

async function resume(taskId: string, prompt: string) {
  await stack.ctx.http.post(`/api/tasks/${taskId}/resume`).set(auth()).send({ prompt }).expect(200);
  return eventually(
    "resume run ends",
    () => taskOf(taskId),
    (t) => ended(t.state) && t.attempts === 2,
    60_000,
  );
}

describe("agent sessions across runs", () => {
  it("a resume on another runner continues the session the first run ended with", async () => {
    const a = await startRunner("sessions-a");
    const { task, repo } = await idleTask(a);
    const objects = await (await new Objm(nc).open(AGENT_SESSIONS_BUCKET)).info(task.id);
    expect(objects?.description).toContain(task.sessionId);
    await a.stop();

    const b = await startRunner("sessions-b");
    const done = await resume(task.id, "Now add the greeting file");
    expect(done.state).toBe("completed");
    const [first, second] = await runsOf(task.id);
    expect(second!.runnerId).toBe(b.id);
    expect(second!.resumeSessionId).toBe(first!.sessionId);
    // The fake CLI fails a resume of a session whose file is missing; here it continued that session.
    expect(second!.sessionId).toBe(first!.sessionId);
    const file = stack.git.git(repo, ["show", `${done.branchName}:optio-fake-claude.txt`]);
    expect(file.trim()).toBe("Now add the greeting file");
    expect((await systemLines(task.id)).some((l) => l.includes("cannot be restored"))).toBe(false);
  });

  it("when the kept session is gone, the run starts a new session from the branch and says so", async () => {
    const c = await startRunner("sessions-c");
    const { task } = await idleTask(c);
    await (await new Objm(nc).open(AGENT_SESSIONS_BUCKET)).delete(task.id);

    const done = await resume(task.id, "Now add the greeting file");
    const [first, second] = await runsOf(task.id);
    expect(second!.resumeSessionId).toBe(first!.sessionId);
    expect(second!.sessionId).toBeTruthy();
    expect(second!.sessionId).not.toBe(first!.sessionId);
    const lines = await systemLines(task.id);
    expect(lines).toContainEqual(
      expect.stringContaining(
        `session ${first!.sessionId} cannot be restored (no session is kept for this task)`,
      ),
    );
    // The new session was told where the earlier work is (the fake echoes the prompt's first line)...
    const texts = await stack.ctx.prisma.taskLog.findMany({ where: { runId: second!.id, type: "text" } });
    expect(texts.map((l) => l.content)).toContainEqual(
      expect.stringContaining("Working on: You are continuing earlier work on this task in a new session"),
    );
    // ...and given the task's own prompt beside the resume's: its FAKE_NOCHANGE made this run idle too.
    expect(done.state).toBe("needs_attention");
  });
});
