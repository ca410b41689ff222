// The daily budget against real Postgres and NATS with a scripted runner and an injected clock: once
// the UTC day's spend reaches OPTIO_DAILY_BUDGET_USD no run starts and queued tasks say why; a
// higher cap (PUT /api/settings/budget) or the next UTC day releases them.
import { eventually } from "../helpers/eventually";
import { useDispatchWorld } from "../dispatch/fixtures";
import { ScriptedRunner, exited, resultOk, started } from "../dispatch/protocol";

const DAY_MS = 86_400_000;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
const utcDay = (at: Date) => at.toISOString().slice(0, 10);

const world = useDispatchWorld({ OPTIO_LEASE_MS: 120_000, OPTIO_DAILY_BUDGET_USD: 1 }, { clock });
const { createTask, taskState, drainQueue } = world.fixtures;

/** Claims, runs and finishes `taskId` with a result that cost `costUsd`. */
async function spend(runner: ScriptedRunner, taskId: string, costUsd: number) {
  const spec = (await runner.claim())!;
  expect(spec.taskId).toBe(taskId);
  await runner.report(spec, started);
  await runner.report(spec, { ...resultOk, costUsd });
  await runner.report(spec, exited);
  await eventually(
    "completed",
    () => taskState(taskId),
    (s) => s === "completed",
  );
}

const budget = async () =>
  (await world.ctx.http.get("/api/settings/budget").set(world.auth).expect(200)).body.budget;
const taskView = async (id: string) =>
  (await world.ctx.http.get(`/api/tasks/${id}`).set(world.auth).expect(200)).body;

describe("the daily budget", () => {
  it("holds new runs in queued with a reason once the day's spend reaches the cap, and releases them", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-daily");
    await drainQueue(runner);
    expect(await budget()).toMatchObject({ capUsd: 1, source: "env", spentUsd: "0", held: false });

    // Two runs spend $1.05 today: the second starts (the cap was not reached yet), then nothing does.
    await spend(runner, (await createTask()).id, 0.6);
    await spend(runner, (await createTask()).id, 0.45);
    const held = await createTask();
    expect(await runner.claim()).toBeNull();
    expect(await taskState(held.id)).toBe("queued");
    const tomorrow = new Date(
      Date.UTC(clock().getUTCFullYear(), clock().getUTCMonth(), clock().getUTCDate() + 1),
    );
    expect(await budget()).toEqual({
      capUsd: 1,
      source: "env",
      day: utcDay(clock()),
      spentUsd: "1.05",
      held: true,
      resetsAt: tomorrow.toISOString(),
    });
    const reason =
      `The daily budget of $1.00 is spent ($1.05 on ${utcDay(clock())}, UTC): ` +
      `runs start again at ${tomorrow.toISOString()} or when the cap is raised`;
    const view = await eventually(
      "the reason shown",
      () => taskView(held.id),
      (v) => v.task.queueReason !== null,
    );
    expect(view.task).toMatchObject({ state: "queued", queueReason: reason });
    expect(view.pendingReason).toBe(reason);
    const list = await world.ctx.http.get("/api/tasks?state=queued").set(world.auth).expect(200);
    expect(list.body.tasks.map((t: { queueReason: string }) => t.queueReason)).toEqual([reason]);
    // Only queued tasks carry it.
    expect(
      (await world.ctx.http.get("/api/tasks?state=completed").set(world.auth)).body.tasks[0].queueReason,
    ).toBeNull();

    // Members may read the budget, not change it.
    const member = await world.ctx.createMember();
    const asMember = { authorization: `Bearer ${member.token}` };
    await world.ctx.http.get("/api/settings/budget").set(asMember).expect(200);
    await world.ctx.http.put("/api/settings/budget").set(asMember).send({ dailyBudgetUsd: 5 }).expect(403);
    for (const bad of [0, -1, "5", undefined]) {
      const res = await world.ctx.http
        .put("/api/settings/budget")
        .set(world.auth)
        .send({ dailyBudgetUsd: bad });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain("body.dailyBudgetUsd");
    }
    expect(await world.ctx.prisma.setting.count()).toBe(0);

    // A higher cap releases the queue at once.
    const raised = await world.ctx.http
      .put("/api/settings/budget")
      .set(world.auth)
      .send({ dailyBudgetUsd: 2 })
      .expect(200);
    expect(raised.body.budget).toMatchObject({ capUsd: 2, source: "setting", held: false });
    await spend(runner, held.id, 1);
    expect((await taskView(held.id)).task.queueReason).toBeNull();

    // $2.05 spent: held again, until the next UTC day.
    const next = await createTask();
    expect(await runner.claim()).toBeNull();
    offsetMs = DAY_MS;
    expect(await budget()).toMatchObject({ capUsd: 2, spentUsd: "0", held: false, day: utcDay(clock()) });
    expect((await taskView(next.id)).task.queueReason).toBeNull(); // a new day is never served from the cache
    const spec = (await runner.claim())!;
    expect(spec.taskId).toBe(next.id);

    // Without the setting, the environment's cap applies again; no cap at all lets everything through.
    const cleared = await world.ctx.http.delete("/api/settings/budget").set(world.auth).expect(200);
    expect(cleared.body.budget).toMatchObject({ capUsd: 1, source: "env" });
    await world.ctx.http
      .put("/api/settings/budget")
      .set(world.auth)
      .send({ dailyBudgetUsd: null })
      .expect(200);
    expect(await budget()).toMatchObject({ capUsd: null, source: "setting", held: false });
  });

  it("holds when the cap is lowered below what was spent", async () => {
    offsetMs = 0;
    const runner = new ScriptedRunner(world.ctx.nats, "r-lowered");
    await drainQueue(runner);
    const task = await createTask();
    await world.ctx.http
      .put("/api/settings/budget")
      .set(world.auth)
      .send({ dailyBudgetUsd: 0.5 })
      .expect(200);
    expect(await runner.claim()).toBeNull();
    expect(await taskState(task.id)).toBe("queued");
    await world.ctx.http
      .put("/api/settings/budget")
      .set(world.auth)
      .send({ dailyBudgetUsd: 100 })
      .expect(200);
    expect((await runner.claim())!.taskId).toBe(task.id);
  });
});
