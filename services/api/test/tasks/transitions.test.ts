// Table-driven: every action from every state, asserting the new state, the event row and the
// published event (and the runner's cancel signal), or the 409 with nothing written.
import { ACTION_RULES, TASK_ACTIONS, TASK_STATES, type TaskAction, type TaskState } from "@optio/core";
import type { Msg, Subscription } from "@nats-io/nats-core";
import { subjects } from "@optio/contracts";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, taskIn, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
let cancels: Msg[] = [];
let sub: Subscription;
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
  await ctx.events.whenReady();
  sub = ctx.nats.subscribe(subjects.runCancel("*", "*"), {
    callback: (_err, msg) => {
      cancels.push(msg);
    },
  });
});
afterAll(async () => {
  sub.unsubscribe();
  await ctx.close();
});

const RUN_KIND: Partial<Record<TaskAction, string>> = {
  retry: "retry",
  resume: "resume",
  "force-restart": "force_restart",
  "force-redo": "force_redo",
};

const cases = TASK_ACTIONS.flatMap((action) => TASK_STATES.map((state) => [action, state] as const));

describe.each(TASK_ACTIONS)("POST /api/tasks/:id/%s", (action) => {
  const rule = ACTION_RULES[action];
  it.each(cases.filter(([a]) => a === action).map(([, state]) => state))(
    "from %s",
    async (state: TaskState) => {
      const task = await taskIn(api, state, {
        metadata: { case: `${action}-${state}` },
      });
      const before = await ctx.prisma.task.findUniqueOrThrow({
        where: { id: task.id },
        include: { runs: true },
      });
      const eventsBefore = await ctx.prisma.taskEvent.count({ where: { taskId: task.id } });
      const body = action === "resume" ? { prompt: "The tests fail on CI, fix them" } : {};
      cancels = [];

      const res = await api.auth(ctx.http.post(`/api/tasks/${task.id}/${action}`)).send(body);

      const after = await ctx.prisma.task.findUniqueOrThrow({
        where: { id: task.id },
        include: { runs: true },
      });
      const events = await ctx.prisma.taskEvent.findMany({
        where: { taskId: task.id },
        orderBy: { seq: "asc" },
      });
      if (!rule.from.includes(state)) {
        expect(res.status).toBe(409);
        expect(res.body.code).toBe("INVALID_TRANSITION");
        expect(res.body.error).toContain(state);
        expect(res.body.details[0]).toMatchObject({ state });
        expect(after.state).toBe(state);
        expect(after.stateVersion).toBe(before.stateVersion);
        expect(events).toHaveLength(eventsBefore);
        expect(after.runs).toHaveLength(before.runs.length);
        return;
      }

      const expected: TaskState = rule.to === "cancelled" ? "cancelled" : "queued";
      expect(res.status).toBe(200);
      expect(res.body.task).toMatchObject({
        id: task.id,
        state: expected,
        stateVersion: before.stateVersion + 1,
      });
      expect(after.state).toBe(expected);
      const last = events[events.length - 1]!;
      expect(events).toHaveLength(eventsBefore + 1);
      expect(last).toMatchObject({
        fromState: state,
        toState: expected,
        trigger: rule.trigger,
        actor: "user",
      });
      expect(last.userId).toBeTruthy();

      const published = await ctx.events.waitFor(
        (e) => e.subject === `optio.task.${task.id}.state_changed` && e.data.toState === expected,
      );
      expect(published).toMatchObject({
        type: "task.state_changed",
        data: { taskId: task.id, fromState: state, toState: expected, trigger: rule.trigger, actor: "user" },
      });

      if (rule.to === "cancelled") {
        expect(
          after.runs.filter((run) => ["queued", "provisioning", "running"].includes(run.state)),
        ).toHaveLength(0);
        if (state === "provisioning" || state === "running") {
          const runId = before.runs.find((run) => run.state === state)!.id;
          await waitUntil(() =>
            cancels.some((msg) => msg.subject === subjects.runCancel("test-runner", runId)),
          );
          const message = cancels.find((msg) => msg.subject === subjects.runCancel("test-runner", runId))!;
          expect(message.json()).toMatchObject({ runId, attempt: 1, reason: "cancelled" });
        } else {
          // Only this task's runs: other test files share the NATS server.
          const ours = cancels.filter((msg) =>
            before.runs.some((run) => msg.subject.endsWith(`.run.${run.id}.cancel`)),
          );
          expect(ours.map((msg) => msg.subject)).toEqual([]);
        }
        expect(after.completedAt).not.toBeNull();
      } else {
        // A new run, counted; the old runs stay in history.
        expect(after.runs).toHaveLength(before.runs.length + 1);
        expect(after.attempts).toBe(before.attempts + 1);
        const newest = after.runs.reduce((a, b) => (a.attempt > b.attempt ? a : b));
        expect(newest).toMatchObject({
          kind: RUN_KIND[action],
          state: "queued",
          attempt: before.attempts + 1,
        });
        expect(last.runId).toBe(newest.id);
        if (action === "resume") expect(newest.prompt).toBe("The tests fail on CI, fix them");
        if (action === "force-redo") {
          expect(after).toMatchObject({
            // A new branch: the old one and its PR are not continued.
            branchName: expect.stringMatching(new RegExp(`-redo${before.attempts + 1}$`)),
            prUrl: null,
            prNumber: null,
            resultSummary: null,
            sessionId: null,
          });
        }
      }
    },
  );
});

describe("cancel with an active run", () => {
  it("closes the run, signals the runner, and refuses a later result", async () => {
    const task = await taskIn(api, "running");
    await api
      .auth(ctx.http.post(`/api/tasks/${task.id}/cancel`))
      .send({})
      .expect(200);
    const run = await ctx.prisma.run.findFirstOrThrow({ where: { taskId: task.id } });
    expect(run).toMatchObject({ state: "cancelled", errorCode: "CANCELLED" });
    // The runner's outcome arrives late: the table refuses it.
    const { machine, work } = ctx.services.tasks;
    await expect(
      work.run((w) =>
        machine.transition(w, {
          taskId: task.id,
          to: "pr_opened",
          trigger: "pr_detected",
          actor: { kind: "runner", runnerId: "r1" },
        }),
      ),
    ).rejects.toMatchObject({ statusCode: 409, code: "INVALID_TRANSITION" });
    expect((await ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } })).state).toBe("cancelled");
  });
});

describe("unknown tasks", () => {
  it.each(TASK_ACTIONS)("%s answers 404 TASK_NOT_FOUND", async (action) => {
    const res = await api
      .auth(ctx.http.post(`/api/tasks/00000000-0000-4000-8000-000000000000/${action}`))
      .send({});
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("TASK_NOT_FOUND");
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
