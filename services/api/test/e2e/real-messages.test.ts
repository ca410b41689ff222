// Steering the real Claude Code (2.1.332, optio/agent-real:<hash>) while it runs, through the whole
// of Optio: POST /api/tasks/:id/messages → the runner holding the run → the container's stdin → the
// CLI's stream-json input, against the Anthropic Messages double. What the model double receives
// shows the CLI took the message into the same session; the run then ends as usual (the runner
// closes stdin once everything written was taken and answered). Host networking, as real-agents.
import { realAgentImage, IMAGE_BUILD_TIMEOUT_MS } from "../../../runner/src/testing/agent-image";
import {
  finalTurn,
  shellTurn,
  startAnthropicDouble,
  type ModelDouble,
} from "../../../runner/src/testing/model-doubles";
import { testSecret } from "../../../runner/src/testing/fixtures";
import { eventually, removeRunnerLeftovers, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(240_000);

const RUNNER = "real-messages";
let claude: ModelDouble;
let stack: E2eStack;

beforeAll(async () => {
  const image = realAgentImage();
  claude = await startAnthropicDouble();
  stack = await startE2eStack({ config: { OPTIO_DEFAULT_IMAGE: image } });
  for (const [name, value] of Object.entries({
    ANTHROPIC_API_KEY: testSecret("sk-ant-"),
    ANTHROPIC_BASE_URL: claude.url,
  }))
    await stack.ctx.http.post("/api/secrets").set(auth()).send({ name, value }).expect(201);
  await stack.startRunner(RUNNER, { OPTIO_RUNNER_IMAGE: image, OPTIO_RUNNER_MEMORY_MB: "1536" });
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  removeRunnerLeftovers(RUNNER);
  await stack?.close();
  await claude?.close();
});

const auth = () => ({ authorization: `Bearer ${stack.token}` });
const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const ended = (state: string) => ["completed", "failed", "needs_attention", "cancelled"].includes(state);
const logsOf = (taskId: string) =>
  stack.ctx.prisma.taskLog.findMany({ where: { taskId }, orderBy: { id: "asc" } });

let repos = 0;
async function claudeTask(prompt: string) {
  const name = `real-messages${++repos}`;
  stack.git.createRepo(name);
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({ title: `Steer ${name}`, repoUrl: stack.git.url(name), agentType: "claude", prompt })
    .expect(201);
  return res.body.task.id as string;
}

/** Waits until the CLI runs the model's Bash call (its tool_call is in the run's log). */
const inTool = (taskId: string) =>
  eventually(
    "the CLI runs the tool",
    () => logsOf(taskId),
    (logs) => logs.some((l) => l.type === "tool_call" && l.content.startsWith("Bash")),
    90_000,
  );

const done = (taskId: string) =>
  eventually(
    "the task ends",
    () => taskOf(taskId),
    (t) => ended(t.state),
    120_000,
  );

describe("messages for the real Claude Code", () => {
  it("a message sent while a tool runs joins the turn: the model sees it in the same session, and the run ends", async () => {
    claude.reset();
    claude.play([shellTurn("sleep 5; echo hi > hi.txt"), finalTurn("Wrote hi.txt, and noted the message.")]);
    const taskId = await claudeTask("Write hi.txt");
    await inTool(taskId);
    const res = await stack.ctx.http
      .post(`/api/tasks/${taskId}/messages`)
      .set(auth())
      .send({ message: "Also: keep it short" })
      .expect(202);
    expect(res.body).toMatchObject({ delivery: "live", interrupted: false });

    const finished = await done(taskId);
    expect(finished.state).toBe("completed");
    // The second model request, after the tool, carries the message (Claude Code appends it to the
    // tool's result), in the conversation the first one began.
    const [first, second] = claude.modelRequests();
    expect(JSON.stringify(first!.body)).not.toContain("keep it short");
    expect(JSON.stringify(second!.body)).toContain("Also: keep it short");
    expect(JSON.stringify(second!.body)).toContain("Write hi.txt");
    const logs = await logsOf(taskId);
    expect(logs.map((l) => l.content)).toContain("the agent took a message: Also: keep it short");
    expect(new Set(logs.filter((l) => l.type === "session").map((l) => l.content)).size).toBe(1);
    const [run] = await stack.ctx.prisma.run.findMany({ where: { taskId } });
    expect(run).toMatchObject({ state: "succeeded", exitCode: 0, errorCode: null });
  });

  it("an interrupt stops the running tool; the message is the next turn; the run does not fail", async () => {
    claude.reset();
    // A minute's work (Claude Code refuses to run a long `sleep`, even chained).
    const work = `node -e 'setTimeout(() => console.log("waited"), 60000)'`;
    claude.play([shellTurn(work), finalTurn("Understood: only the typo.")]);
    const taskId = await claudeTask("Rewrite the whole README");
    await inTool(taskId);
    const t0 = Date.now();
    const res = await stack.ctx.http
      .post(`/api/tasks/${taskId}/messages`)
      .set(auth())
      .send({ message: "Stop: only fix the typo", interrupt: true })
      .expect(202);
    expect(res.body).toMatchObject({ delivery: "live", interrupted: true, reason: null });

    const finished = await done(taskId);
    expect(Date.now() - t0).toBeLessThan(45_000); // the 60 s tool did not run out
    const requests = claude.modelRequests();
    // The second request answers the message; the tool the interrupt stopped returned an error.
    expect(requests).toHaveLength(2);
    expect(requests[1]!.prompt).toContain("Stop: only fix the typo");
    expect(requests[1]!.toolResults).toEqual([expect.objectContaining({ isError: true })]);
    const contents = (await logsOf(taskId)).map((l) => l.content);
    expect(contents).toContain("the agent's turn was interrupted");
    // The interrupted turn is no failure: the run ends as its last turn did (no change: attention).
    const [run] = await stack.ctx.prisma.run.findMany({ where: { taskId } });
    expect(run).toMatchObject({ exitCode: 0 });
    expect(run!.errorCode).not.toBe("AGENT_FAILED");
    expect(finished.state).not.toBe("failed");
  });
});
