// /api/webhooks on a real Postgres: subscriptions are admin-only, validated field by field, refused
// for private-range targets (the repo URL guard), and their signing secret is answered exactly once.
// The inbound GitHub route, POST /api/webhooks/github, keeps working beside them.
import { createHmac, randomBytes } from "node:crypto";
import { createTestContext, type TestContext } from "../helpers/test-context";

const GITHUB_SECRET = `gh-${randomBytes(8).toString("hex")}`;
const RECEIVER = "http://127.0.0.1:9/hook";

let ctx: TestContext;
let admin: { authorization: string };
let member: { authorization: string };

beforeAll(async () => {
  ctx = await createTestContext({ config: { GITHUB_WEBHOOK_SECRET: GITHUB_SECRET } });
  admin = { authorization: `Bearer ${await ctx.adminToken()}` };
  member = { authorization: `Bearer ${(await ctx.createMember()).token}` };
});
afterAll(() => ctx.close());

const subscribe = (body: object, auth = admin) => ctx.http.post("/api/webhooks").set(auth).send(body);

describe("POST /api/webhooks", () => {
  it("answers the subscription with its secret once; the secret is stored encrypted and never shown again", async () => {
    const created = await subscribe({
      url: "http://127.0.0.1:9/Hook?team=ops",
      events: ["task.completed", "task.failed", "task.completed"],
      description: "CI bot",
    });
    expect(created.status).toBe(201);
    const { webhook, secret } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(webhook).toEqual({
      id: expect.any(String),
      url: "http://127.0.0.1:9/Hook?team=ops",
      events: ["task.completed", "task.failed"],
      description: "CI bot",
      createdBy: expect.any(String),
      createdAt: expect.any(String),
    });

    const row = await ctx.prisma.notificationSubscription.findUniqueOrThrow({ where: { id: webhook.id } });
    expect(row.secretEncrypted).not.toContain(secret);
    expect(row.secretEncrypted).not.toContain(secret.slice(6));

    const shown = await ctx.http.get(`/api/webhooks/${webhook.id}`).set(admin).expect(200);
    expect(shown.body).toEqual({ webhook });
    const list = await ctx.http.get("/api/webhooks").set(admin).expect(200);
    expect(list.body.webhooks).toContainEqual(webhook);
    const deliveries = await ctx.http.get(`/api/webhooks/${webhook.id}/deliveries`).set(admin).expect(200);
    expect(deliveries.body).toEqual({ deliveries: [], total: 0 });
    for (const text of [shown.text, list.text, deliveries.text]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain("secret");
    }
  });

  it("accepts `*` for every event type", async () => {
    const created = await subscribe({ url: RECEIVER, events: ["*"] }).expect(201);
    expect(created.body.webhook.events).toEqual(["*"]);
    expect(created.body.webhook.description).toBeNull();
  });

  it.each([
    ["a missing url", { events: ["*"] }, "body.url"],
    ["an empty event list", { url: RECEIVER, events: [] }, "body.events"],
    ["an unknown event type", { url: RECEIVER, events: ["task.created"] }, "body.events.0"],
    ["a non-URL", { url: "not a url", events: ["*"] }, "body.url"],
    ["an ftp URL", { url: "ftp://example.com/hook", events: ["*"] }, "body.url"],
    ["credentials in the URL", { url: "https://user:pw@example.com/hook", events: ["*"] }, "body.url"],
    ["an unknown field", { url: RECEIVER, events: ["*"], secret: "mine" }, "body.secret"],
    [
      "a description too long",
      { url: RECEIVER, events: ["*"], description: "x".repeat(501) },
      "body.description",
    ],
  ])("refuses %s with 400 naming the field, writing nothing", async (_what, body, path) => {
    const before = await ctx.prisma.notificationSubscription.count();
    const res = await subscribe(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await ctx.prisma.notificationSubscription.count()).toBe(before);
  });

  it.each([
    "http://10.1.2.3/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://192.168.1.1/",
    "http://[::1]:8080/hook",
    "http://[::ffff:10.0.0.1]/hook",
  ])("refuses the private-range target %s with 400 naming url", async (url) => {
    const before = await ctx.prisma.notificationSubscription.count();
    const res = await subscribe({ url, events: ["*"] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: "URL_FORBIDDEN",
      details: [{ path: "body.url", reason: "host is not allowed" }],
    });
    expect(await ctx.prisma.notificationSubscription.count()).toBe(before);
  });
});

describe("access", () => {
  it("refuses members (403) and anonymous callers (401) on every route", async () => {
    const id = (await subscribe({ url: RECEIVER, events: ["*"] }).expect(201)).body.webhook.id;
    const calls = [
      () => ctx.http.post("/api/webhooks").send({ url: RECEIVER, events: ["*"] }),
      () => ctx.http.get("/api/webhooks"),
      () => ctx.http.get(`/api/webhooks/${id}`),
      () => ctx.http.delete(`/api/webhooks/${id}`),
      () => ctx.http.get(`/api/webhooks/${id}/deliveries`),
    ];
    for (const call of calls) {
      expect((await call().set(member)).status).toBe(403);
      expect((await call()).status).toBe(401);
    }
    expect(await ctx.prisma.notificationSubscription.count({ where: { id } })).toBe(1);
  });
});

describe("GET and DELETE /api/webhooks/:id", () => {
  it("deletes a subscription; unknown ids are 404 and malformed ones 400 naming the id", async () => {
    const id = (await subscribe({ url: RECEIVER, events: ["task.failed"] }).expect(201)).body.webhook.id;
    expect((await ctx.http.delete(`/api/webhooks/${id}`).set(admin).expect(200)).body).toEqual({ ok: true });
    expect(await ctx.prisma.notificationSubscription.count({ where: { id } })).toBe(0);
    for (const res of [
      await ctx.http.get(`/api/webhooks/${id}`).set(admin),
      await ctx.http.delete(`/api/webhooks/${id}`).set(admin),
      await ctx.http.get(`/api/webhooks/${id}/deliveries`).set(admin),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("WEBHOOK_NOT_FOUND");
    }
    const bad = await ctx.http.get("/api/webhooks/nope").set(admin);
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { path: string }) => d.path)).toContain("params.id");
    const page = await ctx.http.get(`/api/webhooks/${id}/deliveries?limit=0`).set(admin);
    expect(page.status).toBe(400);
    expect(page.body.details.map((d: { path: string }) => d.path)).toContain("query.limit");
  });

  it("leaves POST /api/webhooks/github to the inbound GitHub route", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome." });
    const signature = `sha256=${createHmac("sha256", GITHUB_SECRET).update(body).digest("hex")}`;
    const res = await ctx.http
      .post("/api/webhooks/github")
      .set({
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": randomBytes(8).toString("hex"),
        "x-hub-signature-256": signature,
      })
      .send(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    const unsigned = await ctx.http
      .post("/api/webhooks/github")
      .set({ "content-type": "application/json", "x-github-event": "ping" })
      .send("{}");
    expect(unsigned.status).toBe(401);
  });
});
