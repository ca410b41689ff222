// Subtasks: inheritance, step pipelines in order, a failed step stopping them and marking the
// parent, reviews (400 without a PR, verdict counts), status and progress.
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

const addSubtask = (parentId: string, body: Record<string, unknown>) =>
  api.auth(ctx.http.post(`/api/tasks/${parentId}/subtasks`)).send(body);

async function step(parentId: string, title: string) {
  const res = await addSubtask(parentId, { title, prompt: `do ${title}`, taskType: "step" }).expect(201);
  return res.body.subtask as { id: string; state: string; subtaskOrder: number };
}

describe("subtasks", () => {
  it("inherit repo, branch, agent type and model unless given", async () => {
    const parent = await createTask(api, {
      repoBranch: "release",
      agentType: "codex",
      model: "gpt-5",
      priority: 50,
    });
    const res = await addSubtask(parent.id, { prompt: "Write the docs\nmore" }).expect(201);
    expect(res.body.subtask).toMatchObject({
      title: "Write the docs",
      taskType: "child",
      parentId: parent.id,
      repoUrl: parent.repoUrl,
      repoBranch: "release",
      agentType: "codex",
      model: "gpt-5",
      priority: 49,
      blocksParent: false,
      state: "queued",
    });
    const own = await addSubtask(parent.id, { prompt: "x", agentType: "shell", repoBranch: "main" }).expect(
      201,
    );
    expect(own.body.subtask).toMatchObject({ agentType: "shell", repoBranch: "main", subtaskOrder: 1 });
    const list = await api.auth(ctx.http.get(`/api/tasks/${parent.id}/subtasks`)).expect(200);
    expect(list.body.subtasks).toHaveLength(2);
  });

  it("run steps in order, ordered among steps only", async () => {
    const parent = await createTask(api);
    await addSubtask(parent.id, { prompt: "independent child" }).expect(201);
    const s1 = await step(parent.id, "one");
    const s2 = await step(parent.id, "two");
    const s3 = await step(parent.id, "three");
    expect([s1.state, s2.state, s3.state]).toEqual(["queued", "pending", "pending"]);
    expect([s1.subtaskOrder, s2.subtaskOrder, s3.subtaskOrder]).toEqual([0, 1, 2]);

    const detail = await api.auth(ctx.http.get(`/api/tasks/${s2.id}`)).expect(200);
    expect(detail.body.pendingReason).toBe('Waiting for step 1: "one" (queued)');

    await driveTo(ctx, s1.id, "completed");
    expect([await stateOf(ctx, s2.id), await stateOf(ctx, s3.id)]).toEqual(["queued", "pending"]);
    const released = await ctx.prisma.taskEvent.findFirstOrThrow({
      where: { taskId: s2.id, toState: "queued" },
    });
    expect(released).toMatchObject({ fromState: "pending", trigger: "previous_step_completed" });
    await driveTo(ctx, s2.id, "completed");
    expect(await stateOf(ctx, s3.id)).toBe("queued");

    const progress = await api.auth(ctx.http.get(`/api/tasks/${parent.id}`)).expect(200);
    expect(progress.body.pipelineProgress).toMatchObject({
      totalSteps: 3,
      completedSteps: 2,
      currentStepIndex: 3,
      currentStepTitle: "three",
    });
    await driveTo(ctx, s3.id, "completed");
    const status = await api.auth(ctx.http.get(`/api/tasks/${parent.id}/subtasks/status`)).expect(200);
    expect(status.body).toMatchObject({
      total: 4,
      allComplete: true,
      blocking: [],
      byState: { completed: 3, queued: 1 },
    });
  });

  it("stop at a failed step and mark the parent needs_attention", async () => {
    const parent = await createTask(api);
    await driveTo(ctx, parent.id, "pr_opened");
    const s1 = await step(parent.id, "build");
    const s2 = await step(parent.id, "deploy");
    await driveTo(ctx, s1.id, "failed");
    expect(await stateOf(ctx, s2.id)).toBe("pending");
    const row = await ctx.prisma.task.findUniqueOrThrow({ where: { id: parent.id } });
    expect(row).toMatchObject({ state: "needs_attention", errorMessage: 'Step "build" failed' });
    const event = await ctx.prisma.taskEvent.findFirstOrThrow({
      where: { taskId: parent.id, toState: "needs_attention" },
    });
    expect(event.trigger).toBe("subtask_failed");
    const detail = await api.auth(ctx.http.get(`/api/tasks/${s2.id}`)).expect(200);
    expect(detail.body.pendingReason).toBe('Pipeline stopped: step 1 "build" is failed');
    const status = await api.auth(ctx.http.get(`/api/tasks/${parent.id}/subtasks/status`)).expect(200);
    expect(status.body.allComplete).toBe(false);
    expect(status.body.blocking.map((b: { id: string }) => b.id).sort()).toEqual([s1.id, s2.id].sort());

    // Retrying the failed step and finishing it continues the pipeline...
    await api
      .auth(ctx.http.post(`/api/tasks/${s1.id}/retry`))
      .send({})
      .expect(200);
    await driveTo(ctx, s1.id, "completed");
    expect(await stateOf(ctx, s2.id)).toBe("queued");
    // ...and the last blocking subtask completing completes the parent waiting on them.
    await driveTo(ctx, s2.id, "completed");
    expect(await stateOf(ctx, parent.id)).toBe("completed");
  });

  it("refuse a non-blocking step and subtasks of subtasks", async () => {
    const parent = await createTask(api);
    const res = await addSubtask(parent.id, { prompt: "x", taskType: "step", blocksParent: false }).expect(
      400,
    );
    expect(res.body.details[0].path).toBe("body.blocksParent");
    const child = (await addSubtask(parent.id, { prompt: "child" }).expect(201)).body.subtask;
    await addSubtask(child.id, { prompt: "grandchild" }).expect(400);
  });
});

describe("reviews", () => {
  it("need a PR (400 otherwise), run first, and their failure counts", async () => {
    const parent = await createTask(api);
    const none = await api
      .auth(ctx.http.post(`/api/tasks/${parent.id}/review`))
      .send({})
      .expect(400);
    expect(none.body.error).toContain("no pull request");

    await driveTo(ctx, parent.id, "pr_opened");
    await ctx.prisma.task.update({
      where: { id: parent.id },
      data: { prUrl: "https://github.com/acme/webapp/pull/7", prNumber: 7, branchName: "optio/abc-task" },
    });
    const res = await api.auth(ctx.http.post(`/api/tasks/${parent.id}/review`)).expect(201);
    expect(res.body.reviewTaskId).toBe(res.body.subtask.id);
    expect(res.body.subtask).toMatchObject({
      taskType: "review",
      blocksParent: true,
      priority: 10,
      repoBranch: "optio/abc-task",
      state: "queued",
    });
    expect(res.body.subtask.prompt).toContain("https://github.com/acme/webapp/pull/7");

    await driveTo(ctx, res.body.subtask.id, "failed");
    expect(await ctx.prisma.task.findUniqueOrThrow({ where: { id: parent.id } })).toMatchObject({
      state: "needs_attention",
      errorMessage: expect.stringContaining("Review"),
    });
  });
});
