// POST/GET /api/tasks/:id/messages against real Postgres and NATS: validation, the record a message
// leaves (its row, an event, the published event), and how each state delivers it. A subscription
// on the runner's message subject plays the runner holding the run (`test-runner`, see driveTo).
import type { Msg, Subscription } from "@nats-io/nats-core";
import { RunMessage, subjects, type RunMessageReply } from "@optio/contracts";
import { SYSTEM, type Work } from "../../src/tasks/task-machine";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, taskIn, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
let runner: Subscription;
/** What the fake runner answers, and the messages it got. */
let answer: RunMessageReply | null = { delivered: true, interrupted: false, reason: null };
let received: RunMessage[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
  await ctx.events.whenReady();
  runner = ctx.nats.subscribe(subjects.runMessage("test-runner", "*"), {
    callback: (_err, msg: Msg) => {
      const message = RunMessage.parse(msg.json());
      received.push(message);
      if (answer)
        msg.respond(JSON.stringify({ ...answer, interrupted: answer.delivered && message.interrupt }));
    },
  });
});
afterAll(async () => {
  runner.unsubscribe();
  await ctx.close();
});
beforeEach(() => {
  answer = { delivered: true, interrupted: false, reason: null };
  received = [];
});

const send = (taskId: string, body: unknown, path = "messages") =>
  api.auth(ctx.http.post(`/api/tasks/${taskId}/${path}`)).send(body as object);
const messagesOf = (taskId: string) =>
  ctx.prisma.taskMessage.findMany({ where: { taskId }, orderBy: { createdAt: "asc" } });
const runsOf = (taskId: string) =>
  ctx.prisma.run.findMany({ where: { taskId }, orderBy: { attempt: "asc" } });
const claude = { agentType: "claude" };
const promptOf = async (taskId: string) =>
  (await ctx.prisma.task.findUniqueOrThrow({ where: { id: taskId } })).prompt;

describe("POST /api/tasks/:id/messages: input", () => {
  it("answers 400 naming the field for a missing, blank, too long or unknown field; 404 for an unknown task", async () => {
    const task = await taskIn(api, "running", claude);
    const cases: [unknown, string][] = [
      [{}, "body.message"],
      [{ interrupt: true }, "body.message"],
      [{ message: "" }, "body.message"],
      [{ message: "   " }, "body.message"],
      [{ message: "x".repeat(8001) }, "body.message"],
      [{ message: "hi", interrupt: "yes" }, "body.interrupt"],
      [{ content: "hi", mode: "loud" }, "body.mode"],
      [{ message: "hi", extra: 1 }, "body"],
    ];
    for (const [body, path] of cases) {
      const res = await send(task.id, body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({
        body,
        status: 400,
        code: "VALIDATION_FAILED",
      });
      expect((res.body.details as { path: string }[]).map((d) => d.path)).toContainEqual(
        expect.stringMatching(new RegExp(`^${path.replace(".", "\\.")}`)),
      );
    }
    expect(await messagesOf(task.id)).toEqual([]);
    expect(received).toEqual([]);
    const missing = await send("00000000-0000-4000-8000-000000000000", { message: "hi" });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("TASK_NOT_FOUND");
  });

  it("takes 8000 characters, and the reference's {content, mode} on its /message path", async () => {
    const task = await taskIn(api, "running", claude);
    await send(task.id, { message: "y".repeat(8000) }).expect(202);
    const res = await send(task.id, { content: "Stop and use tabs", mode: "interrupt" }, "message").expect(
      202,
    );
    expect(res.body).toMatchObject({
      delivery: "live",
      interrupted: true,
      message: { content: "Stop and use tabs", interrupt: true },
    });
    expect(received.at(-1)).toMatchObject({ text: "Stop and use tabs", interrupt: true });
  });

  it("takes ten messages a minute per task, then answers 429", async () => {
    const task = await taskIn(api, "queued", claude);
    for (let i = 0; i < 10; i++) await send(task.id, { message: `m${i}` }).expect(202);
    const res = await send(task.id, { message: "one more" });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe("RATE_LIMITED");
    expect(await messagesOf(task.id)).toHaveLength(10);
    // Another task is not held back.
    const other = await taskIn(api, "queued", claude);
    await send(other.id, { message: "hi" }).expect(202);
  });

  it("refuses a completed task with 409, recording nothing", async () => {
    const task = await taskIn(api, "completed", claude);
    const res = await send(task.id, { message: "one more thing" });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("INVALID_TRANSITION");
    expect(await messagesOf(task.id)).toEqual([]);
  });
});

describe("POST /api/tasks/:id/messages: delivery", () => {
  it("running: written live through the runner holding the run, and recorded on the task", async () => {
    const task = await taskIn(api, "running", claude);
    const [run] = await runsOf(task.id);
    const res = await send(task.id, { message: "Use tabs, not spaces" }).expect(202);

    expect(received).toEqual([
      {
        runId: run!.id,
        attempt: 1,
        messageId: res.body.message.id,
        text: "Use tabs, not spaces",
        interrupt: false,
      },
    ]);
    expect(res.body).toMatchObject({
      delivery: "live",
      interrupted: false,
      reason: null,
      message: { taskId: task.id, content: "Use tabs, not spaces", delivery: "live", runId: run!.id },
    });
    const [row] = await messagesOf(task.id);
    expect(row).toMatchObject({ delivery: "live", runId: run!.id, interrupt: false });
    expect(row!.deliveredAt).not.toBeNull();
    const admin = await ctx.prisma.user.findFirstOrThrow({ where: { role: "admin" } });
    expect(row!.userId).toBe(admin.id);
    // The task's history: an event whose state does not change, by the user.
    const event = await ctx.prisma.taskEvent.findFirstOrThrow({
      where: { taskId: task.id, trigger: "user_message" },
    });
    expect(event).toMatchObject({
      fromState: "running",
      toState: "running",
      actor: "user",
      userId: admin.id,
      runId: run!.id,
      message: "Use tabs, not spaces",
    });
    expect((await ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } })).state).toBe("running");
    const published = await ctx.events.waitFor(
      (e) => e.type === "task.message_sent" && (e.data as { taskId: string }).taskId === task.id,
    );
    expect(published.data).toMatchObject({ messageId: row!.id, delivery: "live", runId: run!.id });

    const list = await api.auth(ctx.http.get(`/api/tasks/${task.id}/messages`)).expect(200);
    expect(list.body.messages).toMatchObject([{ id: row!.id, delivery: "live", user: { id: admin.id } }]);
  });

  it("running, but the agent cannot take it (codex, or no runner answers): kept, and put before the next run's prompt", async () => {
    const task = await taskIn(api, "running", { agentType: "codex" });
    answer = { delivered: false, interrupted: false, reason: "codex reads no messages while it runs" };
    const res = await send(task.id, { message: "Also update the changelog" }).expect(202);
    expect(res.body).toMatchObject({
      delivery: "next_run",
      reason: "codex reads no messages while it runs: kept for the task's next run",
      message: { delivery: "next_run", runId: null, deliveredAt: null },
    });
    answer = null; // the runner is gone: the request times out
    const silent = await send(task.id, { message: "And the README" }).expect(202);
    expect(silent.body).toMatchObject({
      delivery: "next_run",
      reason: expect.stringContaining("did not answer"),
    });

    // The run ends; the task needs attention; a resume carries both messages before its prompt.
    await ctx.services.tasks.work.run((w: Work) =>
      ctx.services.tasks.machine.transition(w, {
        taskId: task.id,
        to: "needs_attention",
        trigger: "test",
        actor: SYSTEM,
      }),
    );
    await api
      .auth(ctx.http.post(`/api/tasks/${task.id}/resume`))
      .send({ prompt: "Carry on" })
      .expect(200);
    const resumeRun = (await runsOf(task.id)).at(-1)!;
    expect(resumeRun.kind).toBe("resume");
    const prompt = resumeRun.prompt!;
    expect(prompt.indexOf("And the README")).toBeLessThan(prompt.indexOf("Also update the changelog")); // newest first
    expect(prompt.endsWith("\nCarry on")).toBe(true);
    const rows = await messagesOf(task.id);
    expect(rows.map((m) => ({ runId: m.runId, delivered: m.deliveredAt !== null }))).toEqual([
      { runId: resumeRun.id, delivered: true },
      { runId: resumeRun.id, delivered: true },
    ]);
  }, 30_000);

  it.each(["needs_attention", "failed", "pr_opened", "cancelled"] as const)(
    "%s: resumes the agent's session with the message as the prompt",
    async (state) => {
      const task = await taskIn(api, state, claude);
      await ctx.prisma.task.update({ where: { id: task.id }, data: { sessionId: "sess-1" } });
      const res = await send(task.id, { message: "Rename the flag to --dry-run" }).expect(202);
      const after = await ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
      expect(after.state).toBe("queued");
      const run = (await runsOf(task.id)).at(-1)!;
      expect(run).toMatchObject({ kind: "resume", state: "queued", resumeSessionId: "sess-1" });
      expect(run.prompt).toBe("Rename the flag to --dry-run");
      expect(res.body).toMatchObject({
        delivery: "resumed",
        reason: null,
        message: { delivery: "resumed", runId: run.id },
      });
      const event = await ctx.prisma.taskEvent.findFirstOrThrow({
        where: { taskId: task.id, trigger: "user_message" },
      });
      expect(event).toMatchObject({ fromState: state, toState: "queued", actor: "user", runId: run.id });
      expect(received).toEqual([]);
    },
  );

  it("queued: the run about to start takes it at once", async () => {
    const task = await taskIn(api, "queued", claude);
    const res = await send(task.id, { message: "Target Node 22" }).expect(202);
    const [run] = await runsOf(task.id);
    expect(run!.state).toBe("queued");
    expect(run!.prompt).toMatch(/^\[Message from .* sent while you were not running\]\nTarget Node 22\n/);
    expect(run!.prompt!.endsWith(`\n${await promptOf(task.id)}`)).toBe(true);
    expect(res.body).toMatchObject({ delivery: "next_run", message: { runId: run!.id } });
    expect(res.body.message.deliveredAt).not.toBeNull();
  });

  it("a shell task is not resumed: the message waits, as comment lines before its next run's script", async () => {
    const task = await taskIn(api, "needs_attention", { agentType: "shell", prompt: "echo hi" });
    const res = await send(task.id, { message: "Print bye too" }).expect(202);
    expect(res.body).toMatchObject({ delivery: "next_run", reason: expect.stringContaining("shell") });
    expect((await ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } })).state).toBe(
      "needs_attention",
    );
    await api
      .auth(ctx.http.post(`/api/tasks/${task.id}/force-restart`))
      .send({})
      .expect(200);
    const script = (await runsOf(task.id)).at(-1)!.prompt!;
    expect(script).toContain("# Print bye too");
    expect(script.endsWith("\necho hi")).toBe(true);
  });

  it("a re-attempt Optio starts after a failed run carries the messages that run had, live ones too", async () => {
    const task = await taskIn(api, "running", claude);
    await send(task.id, { message: "Keep the public API" }).expect(202);
    const [first] = await runsOf(task.id);
    // The run fails and the report applier retries (what a failed attempt under maxAttempts does).
    await ctx.services.tasks.work.run((w: Work) =>
      ctx.services.tasks.machine.transition(w, {
        taskId: task.id,
        to: "queued",
        trigger: "agent_failed_retry",
        actor: SYSTEM,
        runId: first!.id,
        newRun: { kind: "retry" },
      }),
    );
    const retry = (await runsOf(task.id)).at(-1)!;
    expect(retry.prompt).toContain("Keep the public API");
    expect(retry.prompt!.endsWith(`\n${await promptOf(task.id)}`)).toBe(true);
    expect((await messagesOf(task.id))[0]).toMatchObject({ delivery: "live", runId: retry.id });
  });
});
