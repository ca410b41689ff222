import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
});
afterAll(() => ctx.close());

it("accepts the seed example", async () => {
  const res = await api.auth(ctx.http.post("/api/tasks")).send({
    title: "Add user avatar support",
    prompt: "Add avatar upload and display to user profiles",
    repoUrl: "https://github.com/acme/webapp",
    repoBranch: "main",
    agentType: "claude",
    priority: 0,
  });
  expect(res.status).toBe(201);
  expect(res.body.task.state).toBe("queued");
  const ev = await ctx.events.waitFor((e) => e.type === "task.created");
  expect(ev.data.taskId).toBe(res.body.task.id);
});
