// The task resource: intake (seed body, aliases, repo settings, idempotency, dependsOn validated
// before anything is written), list filters and totals, detail, PATCH, DELETE, events, comments.
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, createTask, driveTo, REPO_URL, taskBody, taskIn, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
  await ctx.events.whenReady();
});
afterAll(() => ctx.close());

const post = (path: string) => api.auth(ctx.http.post(path));
const get = (path: string) => api.auth(ctx.http.get(path));
const counts = () =>
  Promise.all([
    ctx.prisma.task.count(),
    ctx.prisma.run.count(),
    ctx.prisma.taskEvent.count(),
    ctx.prisma.taskDependency.count(),
    ctx.prisma.outboxEvent.count(),
  ]);

describe("POST /api/tasks", () => {
  it("accepts the seed's example body as it is and returns the real state", async () => {
    const res = await post("/api/tasks")
      .send({
        title: "Add user avatar support",
        prompt: "Add avatar upload and display to user profiles",
        repoUrl: "https://github.com/acme/webapp",
        repoBranch: "main",
        agentType: "claude",
        priority: 0,
      })
      .expect(201);
    expect(res.body.task).toMatchObject({
      title: "Add user avatar support",
      state: "queued",
      priority: 0,
      agentType: "claude",
      repoBranch: "main",
      taskType: "coding",
      attempts: 1,
      costUsd: "0",
      maxAttempts: 3,
      maxRetries: 2,
      latestRun: { attempt: 1, kind: "initial", state: "queued" },
    });
    const id = res.body.task.id as string;
    const events = await ctx.prisma.taskEvent.findMany({ where: { taskId: id } });
    expect(events).toEqual([
      expect.objectContaining({ fromState: null, toState: "queued", trigger: "task_submitted" }),
    ]);
    const published = await ctx.events.waitFor((e) => e.subject === `optio.task.${id}.created`);
    expect(published.data).toMatchObject({ taskId: id, state: "queued", title: "Add user avatar support" });
  });

  it("accepts the reference's aliases and derives a missing title", async () => {
    const res = await post("/api/tasks")
      .send({
        prompt: "Fix the flaky login test\n\nIt fails one run in ten.",
        repoUrl: "git@GitHub.com:Acme/WebApp.git",
        agentType: "claude-code",
        maxRetries: 0,
        claudeModel: "claude-sonnet-4",
      })
      .expect(201);
    expect(res.body.task).toMatchObject({
      title: "Fix the flaky login test",
      repoUrl: "https://github.com/acme/webapp",
      agentType: "claude",
      maxAttempts: 1,
      model: "claude-sonnet-4",
      priority: 100,
    });
  });

  it("applies a connected repo's settings", async () => {
    await post("/api/repos")
      .send({
        repoUrl: "https://github.com/acme/api",
        defaultBranch: "develop",
        defaultAgentType: "codex",
        maxAttempts: 5,
      })
      .expect(201);
    const repo = await ctx.prisma.repo.findUniqueOrThrow({
      where: { repoUrl: "https://github.com/acme/api" },
    });
    const res = await post("/api/tasks")
      .send({ prompt: "x", repoUrl: "https://github.com/acme/api.git" })
      .expect(201);
    expect(res.body.task).toMatchObject({
      repoId: repo.id,
      repoBranch: "develop",
      agentType: "codex",
      maxAttempts: 5,
    });
  });

  it("refuses unknown fields and forbidden hosts, writing nothing", async () => {
    const before = await counts();
    const unknown = await post("/api/tasks")
      .send({ ...taskBody(), colour: "red" })
      .expect(400);
    expect(unknown.body.details).toEqual([{ path: "body.colour", reason: "unknown field" }]);
    const local = await post("/api/tasks")
      .send(taskBody({ repoUrl: "http://10.0.0.1/acme/repo" }))
      .expect(400);
    expect(local.body.code).toBe("REPO_URL_FORBIDDEN");
    expect(await counts()).toEqual(before);
  });

  it("validates dependsOn before anything is written", async () => {
    const failed = await taskIn(api, "failed");
    const before = await counts();
    const missing = "00000000-0000-4000-8000-000000000001";
    const res = await post("/api/tasks")
      .send(taskBody({ dependsOn: [missing, failed.id] }))
      .expect(400);
    expect(res.body.details).toEqual([
      { path: "body.dependsOn.0", reason: `task ${missing} not found` },
      { path: "body.dependsOn.1", reason: `task ${failed.id} is failed; retry it first` },
    ]);
    expect(await counts()).toEqual(before);
  });

  it("waits on unmet dependencies (dependsOnTaskId alias too)", async () => {
    const dep = await createTask(api);
    const res = await post("/api/tasks")
      .send(taskBody({ dependsOnTaskId: dep.id }))
      .expect(201);
    expect(res.body.task.state).toBe("waiting_on_deps");
    const detail = await get(`/api/tasks/${res.body.task.id}`).expect(200);
    expect(detail.body.pendingReason).toBe(`Blocked by: "${dep.title}" (queued)`);
  });

  describe("Idempotency-Key", () => {
    it("returns the same task for the same key and body, 422 for another body", async () => {
      const body = taskBody();
      const first = await post("/api/tasks").set("idempotency-key", "ci-build-42").send(body).expect(201);
      const again = await post("/api/tasks")
        .set("idempotency-key", "ci-build-42")
        .send({ ...body })
        .expect(200);
      expect(again.body.task.id).toBe(first.body.task.id);
      const other = await post("/api/tasks")
        .set("idempotency-key", "ci-build-42")
        .send({ ...body, prompt: "something else" })
        .expect(422);
      expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
      expect(await ctx.prisma.task.count({ where: { title: body.title as string } })).toBe(1);
    });

    it("creates one task for concurrent retries of one request", async () => {
      const body = taskBody();
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => post("/api/tasks").set("idempotency-key", "concurrent-1").send(body)),
      );
      expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
      expect(new Set(responses.map((r) => r.body.task.id)).size).toBe(1);
      expect(await ctx.prisma.task.count({ where: { title: body.title as string } })).toBe(1);
    });

    it("keys are per user and expire after 24 h", async () => {
      const member = await ctx.createMember();
      const body = taskBody();
      const mine = await post("/api/tasks").set("idempotency-key", "shared").send(body).expect(201);
      const theirs = await ctx.http
        .post("/api/tasks")
        .set("authorization", `Bearer ${member.token}`)
        .set("idempotency-key", "shared")
        .send(body)
        .expect(201);
      expect(theirs.body.task.id).not.toBe(mine.body.task.id);
      await ctx.prisma.idempotencyKey.updateMany({
        where: { key: "shared" },
        data: { createdAt: new Date(Date.now() - 25 * 3600 * 1000) },
      });
      const later = await post("/api/tasks").set("idempotency-key", "shared").send(body).expect(201);
      expect(later.body.task.id).not.toBe(mine.body.task.id);
    });
  });
});

describe("GET /api/tasks", () => {
  let ids: string[] = [];
  beforeAll(async () => {
    const repoUrl = "https://github.com/acme/list-test";
    const a = await createTask(api, { repoUrl, title: "Alpha needle", agentType: "codex", priority: 5 });
    const b = await createTask(api, { repoUrl, title: "Beta", prompt: "find the NEEDLE here", priority: 1 });
    const c = await createTask(api, { repoUrl, title: "Gamma" });
    await driveTo(ctx, c.id, "running");
    ids = [a.id, b.id, c.id];
  });
  const list = async (query: string) =>
    (await get(`/api/tasks?repoUrl=https://github.com/acme/list-test&${query}`).expect(200)).body;

  it("filters by one or several states, with a total", async () => {
    expect((await list("state=queued")).total).toBe(2);
    const several = await list("state=queued,running");
    expect(several).toMatchObject({ total: 3, limit: 50, offset: 0 });
    expect((await list("state=running&state=queued")).total).toBe(3);
  });

  it("filters by text, agent type, type and creation time", async () => {
    expect((await list("q=needle")).tasks.map((t: { id: string }) => t.id).sort()).toEqual(
      [ids[0], ids[1]].sort(),
    );
    expect((await list("agentType=codex")).total).toBe(1);
    expect((await list("type=coding")).total).toBe(3);
    expect((await list("type=step")).total).toBe(0);
    expect((await list(`createdAfter=${new Date(Date.now() + 60_000).toISOString()}`)).total).toBe(0);
  });

  it("sorts newest first by default, or in queue order, and paginates", async () => {
    expect((await list("")).tasks.map((t: { id: string }) => t.id)).toEqual([...ids].reverse());
    expect((await list("sort=queue")).tasks.map((t: { id: string }) => t.id)).toEqual([
      ids[1],
      ids[0],
      ids[2],
    ]);
    const page = await list("limit=1&offset=1");
    expect(page).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.tasks).toHaveLength(1);
  });

  it("names a bad filter", async () => {
    const res = await get("/api/tasks?state=bogus").expect(400);
    expect(res.body.details[0].path).toMatch(/^query\.state/);
  });
});

describe("GET /api/tasks/:id", () => {
  it("returns runs, a pending reason and subtask progress", async () => {
    const task = await createTask(api, { repoUrl: "https://github.com/acme/detail" });
    const res = await get(`/api/tasks/${task.id}`).expect(200);
    expect(res.body).toMatchObject({
      task: { id: task.id },
      runs: [{ attempt: 1, kind: "initial", state: "queued" }],
      pendingReason: expect.stringMatching(/^Waiting for a runner/),
      subtaskStatus: null,
      pipelineProgress: null,
    });
  });

  it("names a full repo as the reason", async () => {
    const repoUrl = "https://github.com/acme/busy";
    await post("/api/repos").send({ repoUrl, maxConcurrentTasks: 1 }).expect(201);
    const running = await createTask(api, { repoUrl });
    await driveTo(ctx, running.id, "running");
    const waiting = await createTask(api, { repoUrl });
    const res = await get(`/api/tasks/${waiting.id}`).expect(200);
    expect(res.body.pendingReason).toBe("Waiting for a repo slot (1 of 1 running in this repo)");
  });

  it("answers 404 for an unknown id and 400 for a malformed one", async () => {
    expect((await get("/api/tasks/00000000-0000-4000-8000-000000000000").expect(404)).body.code).toBe(
      "TASK_NOT_FOUND",
    );
    expect((await get("/api/tasks/not-a-uuid").expect(400)).body.details[0].path).toBe("params.id");
  });
});

describe("PATCH /api/tasks/:id", () => {
  it("edits a task that has not started and announces it", async () => {
    const task = await createTask(api);
    const res = await api
      .auth(ctx.http.patch(`/api/tasks/${task.id}`))
      .send({ title: "Renamed", priority: 7, maxRetries: 4, agentType: "claude-code", metadata: { a: 1 } })
      .expect(200);
    expect(res.body.task).toMatchObject({
      title: "Renamed",
      priority: 7,
      maxAttempts: 5,
      agentType: "claude",
      metadata: { a: 1 },
    });
    const event = await ctx.events.waitFor((e) => e.subject === `optio.task.${task.id}.updated`);
    expect(event.data.fields).toEqual(
      expect.arrayContaining(["title", "priority", "maxAttempts", "agentType", "metadata"]),
    );
  });

  it("answers 409 once the task has started, 400 for unknown fields", async () => {
    const task = await taskIn(api, "running");
    const res = await api
      .auth(ctx.http.patch(`/api/tasks/${task.id}`))
      .send({ title: "x" })
      .expect(409);
    expect(res.body).toMatchObject({ code: "INVALID_TRANSITION" });
    expect(res.body.error).toContain("running");
    const queued = await createTask(api);
    const bad = await api
      .auth(ctx.http.patch(`/api/tasks/${queued.id}`))
      .send({ state: "completed" })
      .expect(400);
    expect(bad.body.details).toEqual([{ path: "body.state", reason: "unknown field" }]);
  });
});

describe("DELETE /api/tasks/:id", () => {
  it("refuses while a run is active", async () => {
    const task = await taskIn(api, "provisioning");
    const res = await api.auth(ctx.http.delete(`/api/tasks/${task.id}`)).expect(409);
    expect(res.body.error).toContain("provisioning");
  });

  it("removes the task with its runs, logs, events, comments and edges", async () => {
    const task = await taskIn(api, "failed");
    const dep = await createTask(api);
    await post(`/api/tasks/${task.id}/comments`).send({ content: "hello" }).expect(201);
    await post(`/api/tasks/${task.id}/dependencies`)
      .send({ dependsOn: [dep.id] })
      .expect(201);
    const run = await ctx.prisma.run.findFirstOrThrow({ where: { taskId: task.id } });
    await ctx.prisma.taskLog.create({
      data: { runId: run.id, taskId: task.id, seq: 1, stream: "stdout", type: "text", content: "hi" },
    });
    await api.auth(ctx.http.delete(`/api/tasks/${task.id}`)).expect(200, { ok: true, failedDependents: [] });
    const where = { taskId: task.id };
    const left = await Promise.all([
      ctx.prisma.task.count({ where: { id: task.id } }),
      ctx.prisma.run.count({ where }),
      ctx.prisma.taskLog.count({ where }),
      ctx.prisma.taskEvent.count({ where }),
      ctx.prisma.taskComment.count({ where }),
      ctx.prisma.taskDependency.count({ where }),
    ]);
    expect(left).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await ctx.prisma.task.count({ where: { id: dep.id } })).toBe(1);
    await ctx.events.waitFor((e) => e.subject === `optio.task.${task.id}.deleted`);
  });

  it("refuses a task others wait on unless ?force=true, which fails them", async () => {
    const dep = await createTask(api);
    const waiting = await createTask(api, { dependsOn: [dep.id] });
    const refused = await api.auth(ctx.http.delete(`/api/tasks/${dep.id}`)).expect(409);
    expect(refused.body.details[0]).toMatchObject({ taskId: waiting.id });
    const res = await api.auth(ctx.http.delete(`/api/tasks/${dep.id}?force=true`)).expect(200);
    expect(res.body.failedDependents).toEqual([waiting.id]);
    const after = await ctx.prisma.task.findUniqueOrThrow({ where: { id: waiting.id } });
    expect(after).toMatchObject({ state: "failed", errorMessage: `Dependency ${dep.id} was deleted` });
  });
});

describe("events and comments", () => {
  it("lists the transition history in order", async () => {
    const task = await taskIn(api, "failed");
    await post(`/api/tasks/${task.id}/retry`).send({}).expect(200);
    const res = await get(`/api/tasks/${task.id}/events`).expect(200);
    expect(
      res.body.events.map(
        (e: { fromState: string | null; toState: string }) => `${e.fromState}>${e.toState}`,
      ),
    ).toEqual([
      "null>queued",
      "queued>provisioning",
      "provisioning>running",
      "running>failed",
      "failed>queued",
    ]);
  });

  it("adds and lists comments with author and time", async () => {
    const task = await createTask(api);
    const created = await post(`/api/tasks/${task.id}/comments`).send({ content: "Looks good" }).expect(201);
    expect(created.body.comment).toMatchObject({
      content: "Looks good",
      user: { email: "admin@example.test" },
    });
    await post(`/api/tasks/${task.id}/comments`).send({ content: "Second" }).expect(201);
    const list = await get(`/api/tasks/${task.id}/comments`).expect(200);
    expect(list.body.comments.map((c: { content: string }) => c.content)).toEqual(["Looks good", "Second"]);
    await ctx.events.waitFor((e) => e.subject === `optio.task.${task.id}.comment_added`);
    const tooLong = await post(`/api/tasks/${task.id}/comments`)
      .send({ content: "x".repeat(10_001) })
      .expect(400);
    expect(tooLong.body.details[0].path).toBe("body.content");
    await post(`/api/tasks/${task.id}/comments`).send({ content: "   " }).expect(400);
  });
});

describe("reorder and bulk", () => {
  it("gives the listed tasks their slots in list order, atomically", async () => {
    const repoUrl = "https://github.com/acme/reorder";
    const [a, b, c] = [
      await createTask(api, { repoUrl }),
      await createTask(api, { repoUrl }),
      await createTask(api, { repoUrl }),
    ];
    const res = await post("/api/tasks/reorder")
      .send({ taskIds: [c!.id, a!.id, b!.id] })
      .expect(200);
    expect(res.body).toMatchObject({ ok: true, reordered: 3 });
    const queue = await get(`/api/tasks?repoUrl=${repoUrl}&sort=queue`).expect(200);
    expect(queue.body.tasks.map((t: { id: string }) => t.id)).toEqual([c!.id, a!.id, b!.id]);
    await ctx.events.waitFor((e) => e.subject === `optio.task.${c!.id}.reordered`);

    const before = await ctx.prisma.task.findMany({ where: { repoUrl }, orderBy: { id: "asc" } });
    const missing = await post("/api/tasks/reorder")
      .send({ taskIds: [a!.id, "00000000-0000-4000-8000-000000000009"] })
      .expect(404);
    expect(missing.body.details[0].path).toBe("body.taskIds.1");
    expect(await ctx.prisma.task.findMany({ where: { repoUrl }, orderBy: { id: "asc" } })).toEqual(before);
  });

  it("bulk-cancels every active task and bulk-retries failed ones", async () => {
    const queued = await createTask(api);
    const running = await taskIn(api, "running");
    const done = await taskIn(api, "completed");
    const cancel = await post("/api/tasks/bulk/cancel-active").send({}).expect(200);
    expect(cancel.body.affected).toBeGreaterThanOrEqual(2);
    expect(cancel.body.cancelled).toBe(cancel.body.affected);
    for (const id of [queued.id, running.id]) {
      expect((await ctx.prisma.task.findUniqueOrThrow({ where: { id } })).state).toBe("cancelled");
    }
    expect((await ctx.prisma.task.findUniqueOrThrow({ where: { id: done.id } })).state).toBe("completed");
    const failed = await taskIn(api, "failed");
    const retry = await post("/api/tasks/bulk/retry-failed").send({}).expect(200);
    // A task failed by its cancelled dependency stays failed (retrying it would only wait forever).
    expect(retry.body.affected).toBeGreaterThanOrEqual(1);
    expect(retry.body.affected).toBeLessThanOrEqual(retry.body.total);
    expect(retry.body.retried).toBe(retry.body.affected);
    const row = await ctx.prisma.task.findUniqueOrThrow({ where: { id: failed.id } });
    expect(row.state).toBe("queued");
    const events = await ctx.prisma.taskEvent.findMany({
      where: { taskId: failed.id },
      orderBy: { seq: "desc" },
      take: 1,
    });
    expect(events[0]!.trigger).toBe("bulk_retry");
  });
});

void REPO_URL;
