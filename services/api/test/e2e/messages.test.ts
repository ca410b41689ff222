// Steering a running agent, end to end: POST /api/tasks/:id/messages → the API asks the runner
// process holding the run → it writes the message to the container's stdin → the test image's fake
// Claude Code (stream-json input, as the real CLI reads it) takes it in the same session → the
// runner closes stdin once everything is answered and the run ends as usual.
import { eventually, removeRunnerLeftovers, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(180_000);

const RUNNER = "e2e-messages";
let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack();
  await stack.startRunner(RUNNER);
}, 15 * 60_000);
afterAll(async () => {
  removeRunnerLeftovers(RUNNER);
  await stack?.close();
});

const auth = () => ({ authorization: `Bearer ${stack.token}` });
const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const ended = (state: string) => ["completed", "failed", "needs_attention", "cancelled"].includes(state);
const logsOf = async (taskId: string) =>
  stack.ctx.prisma.taskLog.findMany({ where: { taskId }, orderBy: { id: "asc" } });

let repos = 0;
async function claudeTask(prompt: string) {
  const name = `messages${++repos}`;
  stack.git.createRepo(name);
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({ title: `Messages ${name}`, repoUrl: stack.git.url(name), agentType: "claude", prompt })
    .expect(201);
  return { id: res.body.task.id as string, repo: name };
}

/** Waits until the agent is at work (the fake prints a line a second while it sleeps). */
const working = (taskId: string) =>
  eventually(
    "the agent is working",
    () => logsOf(taskId),
    (logs) => logs.some((l) => l.content.includes("working (1)")),
    60_000,
  );

const send = (taskId: string, body: object) =>
  stack.ctx.http.post(`/api/tasks/${taskId}/messages`).set(auth()).send(body).expect(202);

const done = (taskId: string, attempts = 1) =>
  eventually(
    "the task ends",
    () => taskOf(taskId),
    (t) => ended(t.state) && t.attempts === attempts,
    90_000,
  );

describe("messages for a running agent", () => {
  it("a message sent while claude works reaches it live; it answers in the same session and the run ends normally", async () => {
    const task = await claudeTask("Add a greeting FAKE_SLEEP=6");
    await working(task.id);
    const res = await send(task.id, { message: "Also add a farewell" });
    expect(res.body).toMatchObject({ delivery: "live", interrupted: false, reason: null });

    const finished = await done(task.id);
    expect(finished.state).toBe("completed");
    const logs = await logsOf(task.id);
    const contents = logs.map((l) => l.content);
    expect(contents).toContain("the agent took a message: Also add a farewell");
    // The fake joined it to the turn it was working on, and said so in that turn's answer.
    expect(contents).toContain("Done. Also took: Also add a farewell");
    expect(new Set(logs.filter((l) => l.type === "session").map((l) => l.content)).size).toBe(1);
    const [message] = await stack.ctx.prisma.taskMessage.findMany({ where: { taskId: task.id } });
    const [run] = await stack.ctx.prisma.run.findMany({ where: { taskId: task.id } });
    expect(message).toMatchObject({ delivery: "live", runId: run!.id });
    expect(run).toMatchObject({ state: "succeeded", exitCode: 0 });
  });

  it("an interrupt stops the agent's turn; the message is its next turn; the run does not fail", async () => {
    const task = await claudeTask("Rewrite everything FAKE_SLEEP=60");
    await working(task.id);
    const t0 = Date.now();
    const res = await send(task.id, { message: "Stop: only fix the typo", interrupt: true });
    expect(res.body).toMatchObject({ delivery: "live", interrupted: true });

    const finished = await done(task.id);
    expect(Date.now() - t0).toBeLessThan(45_000); // not the 60 s the first turn would have taken
    expect(finished.state).toBe("completed");
    const contents = (await logsOf(task.id)).map((l) => l.content);
    expect(contents).toContain("the agent's turn was interrupted");
    expect(contents).toContain("Working on: Stop: only fix the typo");
    const file = stack.git.git(task.repo, ["show", `${finished.branchName}:optio-fake-claude.txt`]);
    expect(file).toBe("Stop: only fix the typo\n");
  });

  it("a message to a task that needs attention resumes the agent's session with it", async () => {
    const task = await claudeTask("Look around FAKE_NOCHANGE");
    const first = await done(task.id);
    expect(first.state).toBe("needs_attention");

    const res = await send(task.id, { message: "Now write the notes file" });
    expect(res.body).toMatchObject({ delivery: "resumed" });
    const resumed = await done(task.id, 2);
    expect(resumed.state).toBe("completed");
    const runs = await stack.ctx.prisma.run.findMany({
      where: { taskId: task.id },
      orderBy: { attempt: "asc" },
    });
    expect(runs[1]).toMatchObject({
      kind: "resume",
      resumeSessionId: runs[0]!.sessionId,
      sessionId: runs[0]!.sessionId,
    });
    const file = stack.git.git(task.repo, ["show", `${resumed.branchName}:optio-fake-claude.txt`]);
    expect(file).toBe("Now write the notes file\n");
  });
});
