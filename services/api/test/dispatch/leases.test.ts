import { subjects, type RunCancel } from "@optio/contracts";
import { eventually } from "../helpers/eventually";
import { useDispatchWorld } from "./fixtures";
import { ScriptedRunner, resultOk, started } from "./protocol";

const world = useDispatchWorld({ OPTIO_LEASE_MS: 1_500, OPTIO_REAP_INTERVAL_MS: 200 });
const { createTask, taskState, drainQueue, startRun } = world.fixtures;

describe("leases and fencing", () => {
  it("requeues a run whose runner stopped heartbeating, then refuses the late runner's reports", async () => {
    const lost = new ScriptedRunner(world.ctx.nats, "r-lost");
    await drainQueue(lost);
    const { task, spec } = await startRun(lost);
    // No heartbeats: the lease (1.5 s) expires and the reaper requeues attempt 2.
    await eventually(
      "requeued",
      () => taskState(task.id),
      (s) => s === "queued",
      10_000,
    );
    const old = await world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } });
    expect(old).toMatchObject({ state: "superseded", errorCode: "LEASE_EXPIRED" });

    const cancels: RunCancel[] = [];
    const sub = world.ctx.nats.subscribe(subjects.runCancel("*", spec.runId), {
      callback: (_e, m) => void cancels.push(m.json()),
    });
    await lost.report(spec, resultOk); // the late runner's result is fenced
    await eventually(
      "fenced",
      async () => cancels.length,
      (n) => n > 0,
    );
    expect(cancels[0]).toMatchObject({ runId: spec.runId, attempt: 1, reason: "superseded" });
    sub.unsubscribe();
    expect(await taskState(task.id)).toBe("queued");

    const next = (await new ScriptedRunner(world.ctx.nats, "r-next").claim())!;
    expect(next).toMatchObject({ taskId: task.id, attempt: 2 });
  });

  it("keeps a run alive while heartbeats renew its lease, and fails after the last attempt", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-beat");
    await drainQueue(runner);
    const task = await createTask({ maxAttempts: 1 });
    const spec = (await runner.claim())!;
    await runner.report(spec, started);
    for (let i = 0; i < 6; i++) {
      expect((await runner.heartbeat([spec])).stop).toEqual([]);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await taskState(task.id)).toBe("running");
    await eventually(
      "failed after the only attempt",
      () => taskState(task.id),
      (s) => s === "failed",
      10_000,
    );
    expect((await world.ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } })).errorMessage).toMatch(
      /LEASE_EXPIRED.*after 1 of 1 attempts/,
    );
  });

  it("tells the runner to stop a cancelled run, by message and in the heartbeat reply", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-cancel");
    await drainQueue(runner);
    const { task, spec } = await startRun(runner);
    const cancels: RunCancel[] = [];
    const sub = world.ctx.nats.subscribe(subjects.runCancel("*", spec.runId), {
      callback: (_e, m) => void cancels.push(m.json()),
    });
    await world.ctx.http.post(`/api/tasks/${task.id}/cancel`).set(world.auth).expect(200);
    await eventually(
      "cancel sent",
      async () => cancels.length,
      (n) => n > 0,
    );
    expect(cancels[0]).toMatchObject({ runId: spec.runId, reason: "cancelled" });
    sub.unsubscribe();
    expect((await runner.heartbeat([spec])).stop).toEqual([
      { runId: spec.runId, attempt: 1, reason: "cancelled" },
    ]);
    // A result arriving after the cancel is recorded on the run and moves nothing.
    await runner.report(spec, resultOk);
    const run = await eventually(
      "result recorded",
      () => world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } }),
      (r) => r.lastReportSeq === 2,
    );
    expect(run).toMatchObject({ state: "cancelled", exitCode: 0, branch: "optio/x", sessionId: "sess-1" });
    expect(await taskState(task.id)).toBe("cancelled");
  });

  it("a run cancelled before its runner reported it started is told to stop when it does", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-cancel-early");
    await drainQueue(runner);
    const task = await createTask();
    const spec = (await runner.claim())!;
    await world.ctx.http.post(`/api/tasks/${task.id}/cancel`).set(world.auth).expect(200);
    const cancels: RunCancel[] = [];
    const sub = world.ctx.nats.subscribe(subjects.runCancel("*", spec.runId), {
      callback: (_e, m) => void cancels.push(m.json()),
    });
    // The runner missed the cancel message and starts the container anyway.
    await runner.report(spec, started);
    await eventually(
      "fenced as cancelled",
      async () => cancels.length,
      (n) => n > 0,
    );
    sub.unsubscribe();
    expect(cancels[0]).toMatchObject({ runId: spec.runId, attempt: 1, reason: "cancelled" });
    expect(await taskState(task.id)).toBe("cancelled");
    const run = await world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } });
    expect(run).toMatchObject({ state: "cancelled", startedAt: null });
  });

  it("a runner that restarts forfeits the runs it held at once", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-restart");
    await drainQueue(runner);
    const task = await createTask();
    await runner.claim();
    runner.announce();
    await eventually(
      "requeued",
      () => taskState(task.id),
      (s) => s === "queued",
      3_000,
    );
  });
});
