// The whole path with real parts: POST /api/tasks → claimed by a runner process → one container →
// clone from the git server, agent, commit, push → reports applied → task state and logs.
import { containersLabelled, eventually, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(120_000);

let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack();
  await stack.startRunner("e2e-main");
}, 15 * 60_000);
afterAll(() => stack.close());

const auth = () => ({ authorization: `Bearer ${stack.token}` });
let repoCount = 0;

async function createTask(body: Record<string, unknown>) {
  const name = `repo${++repoCount}`;
  stack.git.createRepo(name);
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({ title: `E2E ${name}`, repoUrl: stack.git.url(name), ...body })
    .expect(201);
  return { task: res.body.task as { id: string }, repo: name };
}

const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });

describe("a run, end to end", () => {
  it("claude: the fake Claude Code edits a file; the branch is pushed with a commit naming the task", async () => {
    const { task, repo } = await createTask({ agentType: "claude", prompt: "Add a greeting file" });
    const done = await eventually(
      "completed",
      () => taskOf(task.id),
      (t) => ["completed", "failed", "needs_attention"].includes(t.state),
      60_000,
    );
    expect(done).toMatchObject({ state: "completed", attempts: 1 });
    expect(done.branchName).toMatch(/^optio\/[0-9a-f]{8}-e2e-repo/);
    expect(Number(done.costUsd)).toBeGreaterThan(0);
    expect(done.sessionId).toBeTruthy();

    const subject = stack.git.git(repo, ["log", "-1", "--format=%s%n%b", done.branchName!]);
    expect(subject).toContain(task.id);
    const files = stack.git.git(repo, ["ls-tree", "--name-only", "-r", done.branchName!]);
    expect(files).toContain("optio-fake-claude.txt");

    const logs = await stack.ctx.http.get(`/api/tasks/${task.id}/logs?limit=1000`).set(auth()).expect(200);
    const types = new Set(logs.body.logs.map((l: { type: string }) => l.type));
    expect([...types]).toEqual(expect.arrayContaining(["text", "tool_call"]));
    expect(
      logs.body.logs.some((l: { content: string }) => l.content.includes("Working on: Add a greeting file")),
    ).toBe(true);

    const events = await stack.ctx.prisma.taskEvent.findMany({
      where: { taskId: task.id },
      orderBy: { seq: "asc" },
    });
    expect(events.map((e) => e.toState)).toEqual(["queued", "provisioning", "running", "completed"]);
    expect(containersLabelled(`optio.task=${task.id}`)).toEqual([]);
  });

  it("shell: the prompt runs as a bash script and its change is pushed", async () => {
    const { task, repo } = await createTask({
      agentType: "shell",
      prompt: "echo 'hello from optio' > hello.txt",
    });
    const done = await eventually(
      "completed",
      () => taskOf(task.id),
      (t) => ["completed", "failed", "needs_attention"].includes(t.state),
      60_000,
    );
    expect(done.state).toBe("completed");
    expect(stack.git.git(repo, ["show", `${done.branchName}:hello.txt`]).trim()).toBe("hello from optio");
  });

  it("an agent that changes nothing leaves the task needing attention; a failing agent fails it", async () => {
    const { task: idle } = await createTask({ agentType: "shell", prompt: "true" });
    const { task: failing } = await createTask({ agentType: "shell", prompt: "echo broken >&2; exit 3" });
    const a = await eventually(
      "idle ends",
      () => taskOf(idle.id),
      (t) => t.state === "needs_attention" || t.state === "failed",
      60_000,
    );
    const b = await eventually(
      "failing ends",
      () => taskOf(failing.id),
      (t) => t.state === "failed" || t.state === "completed",
      60_000,
    );
    expect(a.state).toBe("needs_attention");
    expect(a.errorMessage).toMatch(/without changing/);
    expect(b.state).toBe("failed");
    expect(b.errorMessage).toMatch(/AGENT_FAILED/);
    const stderr = await stack.ctx.prisma.taskLog.findMany({
      where: { taskId: failing.id, stream: "stderr" },
    });
    expect(stderr.some((l) => l.content.includes("broken"))).toBe(true);
  });

  it("cancel mid-run: the container is gone within the grace period and no later result changes the task", async () => {
    const { task } = await createTask({ agentType: "claude", prompt: "Slow work FAKE_SLEEP=60" });
    await eventually(
      "running",
      () => taskOf(task.id),
      (t) => t.state === "running",
      60_000,
    );
    await eventually(
      "container up",
      () => containersLabelled(`optio.task=${task.id}`),
      (ids) => ids.length === 1,
    );
    const cancelledAt = Date.now();
    await stack.ctx.http.post(`/api/tasks/${task.id}/cancel`).set(auth()).expect(200);
    await eventually(
      "container removed",
      () => containersLabelled(`optio.task=${task.id}`),
      (ids) => ids.length === 0,
      15_000,
    );
    expect(Date.now() - cancelledAt).toBeLessThan(2_000 + 8_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await taskOf(task.id)).state).toBe("cancelled");
  });

  it("a container OOM-killed fails the run with a clear reason", async () => {
    const { task } = await createTask({ agentType: "claude", prompt: "FAKE_OOM", maxAttempts: 1 });
    const done = await eventually(
      "ends",
      () => taskOf(task.id),
      (t) => ["failed", "completed", "needs_attention"].includes(t.state),
      90_000,
    );
    expect(done.state).toBe("failed");
    expect(done.errorMessage).toMatch(/OOM_KILLED/);
  });
});
