// Clients that send `content-type: application/json` with no body on action endpoints: the body
// reads as `{}` and the action runs, as with no header at all.
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, createTask, driveTo, stateOf, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
});
afterAll(() => ctx.close());

const emptyJson = (path: string) =>
  api.auth(ctx.http.post(path)).set("content-type", "application/json").send("");

describe("an empty JSON body on an action is {}", () => {
  it.each([
    ["cancel", "queued", "cancelled"],
    ["retry", "cancelled", "queued"],
    ["resume", "failed", "queued"],
    ["force-restart", "failed", "queued"],
    ["force-redo", "failed", "queued"],
  ] as const)("POST /api/tasks/:id/%s from %s → %s", async (action, from, to) => {
    const task = await createTask(api);
    await driveTo(ctx, task.id, from);
    const res = await emptyJson(`/api/tasks/${task.id}/${action}`);
    expect({ status: res.status, body: res.body }).toMatchObject({
      status: 200,
      body: { task: { state: to } },
    });
    expect(await stateOf(ctx, task.id)).toBe(to);
  });

  it("review: 201 and a review subtask", async () => {
    const task = await createTask(api);
    await driveTo(ctx, task.id, "pr_opened");
    await ctx.prisma.task.update({
      where: { id: task.id },
      data: { prUrl: "https://github.com/acme/webapp/pull/7", prNumber: 7 },
    });
    const res = await emptyJson(`/api/tasks/${task.id}/review`);
    expect(res.status).toBe(201);
    const review = await ctx.prisma.task.findUniqueOrThrow({ where: { id: res.body.reviewTaskId } });
    expect(review).toMatchObject({ parentId: task.id, taskType: "review" });
  });

  it("bulk retry-failed and cancel-active", async () => {
    const failed = await createTask(api);
    await driveTo(ctx, failed.id, "failed");
    const retried = await emptyJson("/api/tasks/bulk/retry-failed");
    expect(retried.status).toBe(200);
    expect(retried.body.affected).toBeGreaterThanOrEqual(1);
    expect(await stateOf(ctx, failed.id)).toBe("queued");
    const cancelled = await emptyJson("/api/tasks/bulk/cancel-active");
    expect(cancelled.status).toBe(200);
    expect(await stateOf(ctx, failed.id)).toBe("cancelled");
  });

  it("a whitespace-only body is {} too; malformed JSON and a non-empty wrong body still fail with 400", async () => {
    const task = await createTask(api);
    const blank = await api
      .auth(ctx.http.post(`/api/tasks/${task.id}/cancel`))
      .set("content-type", "application/json")
      .send("  \n");
    expect(blank.status).toBe(200);
    const other = await createTask(api);
    const malformed = await api
      .auth(ctx.http.post(`/api/tasks/${other.id}/cancel`))
      .set("content-type", "application/json")
      .send("{");
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe("VALIDATION_FAILED");
    const unknownField = await api.auth(ctx.http.post(`/api/tasks/${other.id}/cancel`)).send({ force: true });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.details[0].path).toBe("body.force");
    expect(await stateOf(ctx, other.id)).toBe("queued");
  });

  it("create with an empty JSON body: 400 naming the missing fields, no row", async () => {
    const before = await ctx.prisma.task.count();
    const res = await emptyJson("/api/tasks");
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(["body.prompt", "body.repoUrl"]),
    );
    expect(await ctx.prisma.task.count()).toBe(before);
  });

  it("a prototype-poisoning body is still refused", async () => {
    const task = await createTask(api);
    const res = await api
      .auth(ctx.http.post(`/api/tasks/${task.id}/cancel`))
      .set("content-type", "application/json")
      .send('{"__proto__": {"x": 1}}');
    expect(res.status).toBe(400);
  });
});
