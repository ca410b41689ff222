import { EventEnvelope, RepoEventPayloads, SecretEventPayloads, TaskEventPayloads } from "@optio/contracts";
import type { z } from "zod";
import { createTestContext, type TestContext } from "../helpers/test-context";

let ctx: TestContext;
let admin: { authorization: string };
beforeAll(async () => {
  ctx = await createTestContext();
  admin = { authorization: `Bearer ${await ctx.adminToken()}` };
});
afterAll(() => ctx.close());

const schemaOf = (type: string): z.ZodType | undefined => {
  const [entity, event] = type.split(".") as [string, string];
  const all: Record<string, Record<string, z.ZodType>> = {
    task: TaskEventPayloads,
    repo: RepoEventPayloads,
    secret: SecretEventPayloads,
  };
  const payloads = all[entity] ?? {};
  return payloads[event];
};

it("publishes every event in the envelope, with data matching its contract schema", async () => {
  const repo = await ctx.http
    .post("/api/repos")
    .set(admin)
    .send({ repoUrl: "https://example.com/ev/repo" })
    .expect(201);
  await ctx.http.patch(`/api/repos/${repo.body.repo.id}`).set(admin).send({ autoMerge: true }).expect(200);
  const secret = { name: "EVENT_SECRET", value: `value-${Date.now()}`, scope: repo.body.repo.id };
  await ctx.http.post("/api/secrets").set(admin).send(secret).expect(201);
  await ctx.http.delete(`/api/secrets/EVENT_SECRET?scope=${secret.scope}`).set(admin).expect(200);
  const task = await ctx.http
    .post("/api/tasks")
    .set(admin)
    .send({ title: "Events", prompt: "p", repoUrl: "https://example.com/ev/repo" })
    .expect(201);
  const id = task.body.task.id as string;
  await ctx.http.post(`/api/tasks/${id}/comments`).set(admin).send({ content: "hi" }).expect(201);
  await ctx.http.post(`/api/tasks/${id}/cancel`).set(admin).expect(200);
  await ctx.http.delete(`/api/tasks/${id}`).set(admin).expect(200);
  await ctx.http.delete(`/api/repos/${repo.body.repo.id}`).set(admin).expect(200);
  await ctx.events.waitFor((e) => e.type === "repo.deleted");

  const types = ctx.events.events.map((e) => e.type);
  expect(types).toEqual(
    expect.arrayContaining([
      "repo.created",
      "repo.updated",
      "task.created",
      "task.comment_added",
      "task.state_changed",
      "task.deleted",
      "repo.deleted",
      "secret.set",
      "secret.deleted",
    ]),
  );
  for (const event of ctx.events.events) {
    expect(EventEnvelope.safeParse(event).success).toBe(true);
    const schema = schemaOf(event.type);
    expect({ type: event.type, known: Boolean(schema) }).toEqual({ type: event.type, known: true });
    const parsed = schema!.safeParse(event.data);
    expect({ type: event.type, issues: parsed.error?.issues ?? [] }).toEqual({
      type: event.type,
      issues: [],
    });
  }
});

it("serves an AsyncAPI document generated from the same schemas", async () => {
  const doc = await ctx.http.get("/api/asyncapi.json").expect(200);
  expect(doc.body.asyncapi).toBe("2.6.0");
  const channels = Object.keys(doc.body.channels);
  for (const event of Object.keys(TaskEventPayloads))
    expect(channels).toContain(`optio.task.{taskId}.${event}`);
  for (const event of Object.keys(RepoEventPayloads))
    expect(channels).toContain(`optio.repo.{repoId}.${event}`);
  for (const event of Object.keys(SecretEventPayloads))
    expect(channels).toContain(`optio.secret.{secretId}.${event}`);
  const created = doc.body.channels["optio.task.{taskId}.created"].subscribe.message.payload;
  expect(created.properties.data.required).toEqual(expect.arrayContaining(["taskId", "title", "state"]));
});
