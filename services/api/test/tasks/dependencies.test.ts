// Dependencies: chains, diamonds, cycles refused (also when added concurrently), failure
// propagation, release on completion, and re-evaluation when an edge is removed.
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, createTask, driveTo, stateOf, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
  await ctx.events.whenReady();
});
afterAll(() => ctx.close());

const addDeps = (taskId: string, dependsOn: string[]) =>
  api.auth(ctx.http.post(`/api/tasks/${taskId}/dependencies`)).send({ dependsOn });
const complete = (taskId: string) => driveTo(ctx, taskId, "completed");
const fail = (taskId: string) => driveTo(ctx, taskId, "failed");

describe("chains", () => {
  it("releases each link the moment the previous one completes", async () => {
    const a = await createTask(api);
    const b = await createTask(api, { dependsOn: [a.id] });
    const c = await createTask(api, { dependsOn: [b.id] });
    expect([b.state, c.state]).toEqual(["waiting_on_deps", "waiting_on_deps"]);

    await complete(a.id);
    expect([await stateOf(ctx, b.id), await stateOf(ctx, c.id)]).toEqual(["queued", "waiting_on_deps"]);
    const released = await ctx.prisma.taskEvent.findFirstOrThrow({
      where: { taskId: b.id, toState: "queued" },
    });
    expect(released).toMatchObject({
      fromState: "waiting_on_deps",
      trigger: "dependencies_met",
      actor: "system",
    });
    await ctx.events.waitFor(
      (e) => e.subject === `optio.task.${b.id}.state_changed` && e.data.toState === "queued",
    );

    await complete(b.id);
    expect(await stateOf(ctx, c.id)).toBe("queued");
  });

  it("fails the whole waiting chain when its head fails, naming the reason", async () => {
    const a = await createTask(api, { title: "Head" });
    const b = await createTask(api, { dependsOn: [a.id] });
    const c = await createTask(api, { dependsOn: [b.id] });
    await fail(a.id);
    const [rowB, rowC] = await Promise.all(
      [b.id, c.id].map((id) => ctx.prisma.task.findUniqueOrThrow({ where: { id } })),
    );
    expect(rowB).toMatchObject({ state: "failed", errorMessage: `Dependency "Head" (${a.id}) failed` });
    expect(rowC).toMatchObject({ state: "failed", errorMessage: expect.stringContaining(b.id) });
    const event = await ctx.prisma.taskEvent.findFirstOrThrow({ where: { taskId: c.id, toState: "failed" } });
    expect(event.trigger).toBe("dependency_failed");
  });

  it("fails waiting dependents at once when a dependency is cancelled", async () => {
    const a = await createTask(api);
    const b = await createTask(api, { dependsOn: [a.id] });
    await api
      .auth(ctx.http.post(`/api/tasks/${a.id}/cancel`))
      .send({})
      .expect(200);
    expect(await ctx.prisma.task.findUniqueOrThrow({ where: { id: b.id } })).toMatchObject({
      state: "failed",
      errorMessage: expect.stringContaining("was cancelled"),
    });
    // Retrying the dependent while its dependency is still cancelled is refused...
    const refused = await api
      .auth(ctx.http.post(`/api/tasks/${b.id}/retry`))
      .send({})
      .expect(409);
    expect(refused.body.code).toBe("CONFLICT");
    // ...and after retrying the dependency it waits for it again.
    await api
      .auth(ctx.http.post(`/api/tasks/${a.id}/retry`))
      .send({})
      .expect(200);
    const retried = await api
      .auth(ctx.http.post(`/api/tasks/${b.id}/retry`))
      .send({})
      .expect(200);
    expect(retried.body.task.state).toBe("waiting_on_deps");
  });
});

describe("diamonds", () => {
  it("releases the bottom only when both sides have completed", async () => {
    const top = await createTask(api);
    const left = await createTask(api, { dependsOn: [top.id] });
    const right = await createTask(api, { dependsOn: [top.id] });
    const bottom = await createTask(api, { dependsOn: [left.id, right.id] });
    await complete(top.id);
    expect([await stateOf(ctx, left.id), await stateOf(ctx, right.id)]).toEqual(["queued", "queued"]);
    await complete(left.id);
    expect(await stateOf(ctx, bottom.id)).toBe("waiting_on_deps");
    await complete(right.id);
    expect(await stateOf(ctx, bottom.id)).toBe("queued");
  });

  it("releases the bottom once when both sides complete at the same time", async () => {
    for (let round = 0; round < 5; round++) {
      const left = await createTask(api);
      const right = await createTask(api);
      const bottom = await createTask(api, { dependsOn: [left.id, right.id] });
      await driveTo(ctx, left.id, "running");
      await driveTo(ctx, right.id, "running");
      const { machine, work } = ctx.services.tasks;
      const finish = (taskId: string) =>
        work.run((w) =>
          machine.transition(w, {
            taskId,
            to: "completed",
            trigger: "agent_success",
            actor: { kind: "system" },
          }),
        );
      await Promise.all([finish(left.id), finish(right.id)]);
      expect(await stateOf(ctx, bottom.id)).toBe("queued");
      expect(await ctx.prisma.taskEvent.count({ where: { taskId: bottom.id, toState: "queued" } })).toBe(1);
    }
  });
});

describe("cycles", () => {
  it("refuses a self-edge and a cycle, naming the path, and writes nothing", async () => {
    const a = await createTask(api);
    const b = await createTask(api, { dependsOn: [a.id] });
    const c = await createTask(api, { dependsOn: [b.id] });
    const self = await addDeps(a.id, [a.id]).expect(400);
    expect(self.body.code).toBe("DEPENDENCY_CYCLE");
    const edgesBefore = await ctx.prisma.taskDependency.count();
    const cycle = await addDeps(a.id, [c.id]).expect(400);
    expect(cycle.body).toMatchObject({
      code: "DEPENDENCY_CYCLE",
      error: `Dependency cycle: ${a.id} → ${c.id} → ${b.id} → ${a.id}`,
    });
    expect(cycle.body.details[0]).toMatchObject({
      path: "body.dependsOn.0",
      cycle: [a.id, c.id, b.id, a.id],
    });
    expect(await ctx.prisma.taskDependency.count()).toBe(edgesBefore);
    expect(await stateOf(ctx, a.id)).toBe("queued");
  });

  it("lets only one of two opposite edges added at once through", async () => {
    for (let round = 0; round < 5; round++) {
      const a = await createTask(api);
      const b = await createTask(api);
      const [ab, ba] = await Promise.all([addDeps(a.id, [b.id]), addDeps(b.id, [a.id])]);
      expect([ab.status, ba.status].sort()).toEqual([201, 400]);
      expect(await ctx.prisma.taskDependency.count({ where: { taskId: { in: [a.id, b.id] } } })).toBe(1);
    }
  });
});

describe("editing edges", () => {
  it("moves a queued task back to waiting when it gains an unmet dependency", async () => {
    const dep = await createTask(api);
    const task = await createTask(api);
    const res = await addDeps(task.id, [dep.id]).expect(201);
    expect(res.body).toMatchObject({
      ok: true,
      dependencies: [{ id: dep.id, state: "queued", dependencyId: dep.id }],
    });
    expect(await stateOf(ctx, task.id)).toBe("waiting_on_deps");
    const list = await api.auth(ctx.http.get(`/api/tasks/${task.id}/dependencies`)).expect(200);
    expect(list.body.dependencies).toHaveLength(1);
    const dependents = await api.auth(ctx.http.get(`/api/tasks/${dep.id}/dependents`)).expect(200);
    expect(dependents.body.dependents).toEqual([expect.objectContaining({ id: task.id })]);
  });

  it("re-evaluates at once when the last unmet edge is removed", async () => {
    const done = await createTask(api);
    await complete(done.id);
    const open = await createTask(api);
    const task = await createTask(api, { dependsOn: [done.id, open.id] });
    expect(task.state).toBe("waiting_on_deps");
    await api.auth(ctx.http.delete(`/api/tasks/${task.id}/dependencies/${open.id}`)).expect(204);
    expect(await stateOf(ctx, task.id)).toBe("queued");
    await ctx.events.waitFor((e) => e.subject === `optio.task.${task.id}.dependency_removed`);
    const missing = await api
      .auth(ctx.http.delete(`/api/tasks/${task.id}/dependencies/${open.id}`))
      .expect(404);
    expect(missing.body.error).toBe("Dependency not found");
  });

  it("refuses edges on a task that has started", async () => {
    const dep = await createTask(api);
    const task = await createTask(api);
    await driveTo(ctx, task.id, "running");
    expect((await addDeps(task.id, [dep.id]).expect(409)).body.code).toBe("INVALID_TRANSITION");
  });
});
