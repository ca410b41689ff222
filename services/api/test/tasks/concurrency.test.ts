// Conflicting actions on one task at once: never a 500, one winner per conflict, and a history in
// which every event starts where the previous one ended.
import fc from "fast-check";
import { TASK_ACTIONS, type TaskState } from "@optio/core";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, taskIn, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
});
afterAll(() => ctx.close());

const act = (taskId: string, action: string) =>
  api
    .auth(ctx.http.post(`/api/tasks/${taskId}/${action}`))
    .send(action === "resume" ? { prompt: "go on" } : {});

/** The event rows chain (from = previous to), end in the task's state, and match its version and runs. */
async function expectConsistentHistory(taskId: string, transitionsSinceCreation: number) {
  const task = await ctx.prisma.task.findUniqueOrThrow({ where: { id: taskId }, include: { runs: true } });
  const events = await ctx.prisma.taskEvent.findMany({ where: { taskId }, orderBy: { seq: "asc" } });
  expect(events[0]!.fromState).toBeNull();
  for (let i = 1; i < events.length; i++) expect(events[i]!.fromState).toBe(events[i - 1]!.toState);
  expect(events[events.length - 1]!.toState).toBe(task.state);
  expect(task.stateVersion).toBe(transitionsSinceCreation);
  expect(events).toHaveLength(transitionsSinceCreation + 1);
  expect(task.runs).toHaveLength(task.attempts);
  expect(new Set(task.runs.map((run) => run.attempt)).size).toBe(task.attempts);
  expect(
    task.runs.filter((run) => ["queued", "provisioning", "running"].includes(run.state)).length,
  ).toBeLessThanOrEqual(1);
}

const PATH_LENGTH: Partial<Record<TaskState, number>> = {
  queued: 0,
  running: 2,
  needs_attention: 3,
  pr_opened: 3,
  failed: 3,
  cancelled: 1,
};

it("eight concurrent retries of a failed task: one wins, seven get 409 naming the new state", async () => {
  const task = await taskIn(api, "failed");
  const responses = await Promise.all(Array.from({ length: 8 }, () => act(task.id, "retry")));
  const statuses = responses.map((res) => res.status).sort();
  expect(statuses).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
  for (const res of responses.filter((r) => r.status === 409)) {
    expect(res.body).toMatchObject({
      code: "INVALID_TRANSITION",
      error: "Cannot retry a task in state queued",
    });
  }
  await expectConsistentHistory(task.id, PATH_LENGTH.failed! + 1);
});

it("cancel and retry racing on a cancelled-or-failed task leave one consistent history", async () => {
  for (let round = 0; round < 6; round++) {
    const task = await taskIn(api, round % 2 === 0 ? "failed" : "needs_attention");
    const responses = await Promise.all([
      act(task.id, "cancel"),
      act(task.id, "retry"),
      act(task.id, "resume"),
    ]);
    expect(responses.every((res) => res.status === 200 || res.status === 409)).toBe(true);
    const wins = responses.filter((res) => res.status === 200).length;
    expect(wins).toBeGreaterThanOrEqual(1);
    await expectConsistentHistory(task.id, 3 + wins);
  }
});

it("any mix of concurrent actions from any state keeps the invariants (property)", async () => {
  const states: TaskState[] = ["queued", "running", "needs_attention", "pr_opened", "failed", "cancelled"];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...states),
      fc.array(fc.constantFrom(...TASK_ACTIONS), { minLength: 2, maxLength: 5 }),
      async (state, actions) => {
        const task = await taskIn(api, state);
        const responses = await Promise.all(actions.map((action) => act(task.id, action)));
        for (const res of responses) expect([200, 409]).toContain(res.status);
        const wins = responses.filter((res) => res.status === 200).length;
        await expectConsistentHistory(task.id, PATH_LENGTH[state]! + wins);
      },
    ),
    { numRuns: 20 },
  );
}, 90_000); // 20 rounds of up to five concurrent transactions: slow on a loaded 2-core machine
