// Outbound deliveries end to end on a real Postgres and a NATS JetStream of this file's own: task
// state changes flow outbox → stream → durable consumer → delivery rows → signed POSTs to receivers
// on 127.0.0.1. Retry timings are shrunk by configuration; assertions count deliveries, not time.
import { Writable } from "node:stream";
import { ApiMetrics } from "../../src/metrics/api-metrics";
import { eventually } from "../helpers/eventually";
import { startPrivateNats, type PrivateNats } from "../helpers/private-nats";
import { createTestContext, type TestContext, type TestContextOptions } from "../helpers/test-context";
import { apiFor, taskIn, type Api } from "../tasks/task-fixtures";
import { verifySignature, WebhookReceiver, type ReceivedDelivery } from "./webhook-receiver";

const FAST_RETRIES = {
  OPTIO_WEBHOOK_RETRY_BASE_MS: 50,
  OPTIO_WEBHOOK_RETRY_MAX_MS: 200,
  OPTIO_WEBHOOK_TIMEOUT_MS: 2_000,
};

let nats: PrivateNats;
let ctx: TestContext;
let api: Api;
let metrics: ApiMetrics;
const receivers: WebhookReceiver[] = [];
const secrets: string[] = [];
const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk));
    done();
  },
});
const contexts: TestContext[] = [];

async function context(options: TestContextOptions): Promise<TestContext> {
  const created = await createTestContext({ nats: nats.forApi, ...options });
  contexts.push(created);
  await created.notifications.start();
  return created;
}

async function receiver(): Promise<WebhookReceiver> {
  const created = new WebhookReceiver();
  await created.start();
  receivers.push(created);
  return created;
}

async function subscribe(on: TestContext, url: string, events: string[]) {
  const token = await on.adminToken();
  const res = await on.http
    .post("/api/webhooks")
    .set("authorization", `Bearer ${token}`)
    .send({ url, events })
    .expect(201);
  secrets.push(res.body.secret);
  return res.body as { webhook: { id: string }; secret: string };
}

const forTask = (received: ReceivedDelivery[], taskId: string) =>
  received.filter((delivery) => delivery.json.data.taskId === taskId);

beforeAll(async () => {
  nats = await startPrivateNats();
  metrics = new ApiMetrics({ prisma: undefined as never, nats: undefined as never });
  ctx = await context({
    logStream: logSink,
    config: FAST_RETRIES,
    notifications: { intervalMs: 100, onOutcome: (outcome) => metrics.observeNotificationDelivery(outcome) },
  });
  api = await apiFor(ctx);
});
afterAll(async () => {
  for (const each of contexts.reverse()) await each.close();
  // Failed attempts were logged (with their reasons), and no signing secret ever was.
  expect(logLines.some((line) => line.includes("webhook delivery failed"))).toBe(true);
  for (const secret of secrets) expect(logLines.join("")).not.toContain(secret);
  for (const each of receivers) await each.close();
  await nats.stop();
});

describe("deliveries", () => {
  it("posts signed deliveries of the subscribed event types only", async () => {
    const completedOnly = await receiver();
    const everything = await receiver();
    const failedOnly = await receiver();
    const subs = {
      completed: await subscribe(ctx, completedOnly.url, ["task.completed"]),
      all: await subscribe(ctx, everything.url, ["*"]),
      failed: await subscribe(ctx, failedOnly.url, ["task.failed"]),
    };

    const tasks = {
      completed: await taskIn(api, "completed"),
      failed: await taskIn(api, "failed"),
      needsAttention: await taskIn(api, "needs_attention"),
      prOpened: await taskIn(api, "pr_opened"),
    };
    await eventually(
      "all four deliveries",
      () => everything.accepted.length,
      (n) => n >= 4,
    );
    await eventually(
      "the completed one",
      () => completedOnly.accepted.length,
      (n) => n >= 1,
    );
    await eventually(
      "the failed one",
      () => failedOnly.accepted.length,
      (n) => n >= 1,
    );

    expect(everything.accepted.map((d) => [d.json.type, d.json.data.taskId]).sort()).toEqual(
      [
        ["task.completed", tasks.completed.id],
        ["task.failed", tasks.failed.id],
        ["task.needs_attention", tasks.needsAttention.id],
        ["task.pr_opened", tasks.prOpened.id],
      ].sort(),
    );
    expect(completedOnly.received.map((d) => d.json.data.taskId)).toEqual([tasks.completed.id]);
    expect(failedOnly.received.map((d) => d.json.data.taskId)).toEqual([tasks.failed.id]);

    // Every delivery carries the headers and a signature that verifies with its subscription's secret
    // (and not with another's).
    const checks: Array<[WebhookReceiver, string]> = [
      [completedOnly, subs.completed.secret],
      [everything, subs.all.secret],
      [failedOnly, subs.failed.secret],
    ];
    for (const [target, secret] of checks) {
      for (const delivery of target.received) {
        expect(delivery.headers["x-optio-event"]).toBe(delivery.json.type);
        expect(delivery.headers["content-type"]).toBe("application/json");
        expect(verifySignature(secret, delivery.headers, delivery.body)).toBe(true);
        expect(
          verifySignature(
            subs.completed.secret === secret ? subs.all.secret : subs.completed.secret,
            delivery.headers,
            delivery.body,
          ),
        ).toBe(false);
        expect(verifySignature(secret, delivery.headers, `${delivery.body} `)).toBe(false);
      }
    }

    // The delivery id is the row's id; the history shows it delivered on the first attempt.
    const completed = forTask(everything.received, tasks.completed.id)[0]!;
    const task = await ctx.prisma.task.findUniqueOrThrow({ where: { id: tasks.completed.id } });
    expect(completed.json).toMatchObject({
      type: "task.completed",
      data: {
        taskId: tasks.completed.id,
        fromState: "running",
        toState: "completed",
        task: { title: task.title, repoUrl: task.repoUrl, prUrl: null },
      },
    });
    const token = await ctx.adminToken();
    const history = await ctx.http
      .get(`/api/webhooks/${subs.all.webhook.id}/deliveries?limit=2`)
      .set("authorization", `Bearer ${token}`)
      .expect(200);
    expect(history.body.total).toBe(4);
    expect(history.body.deliveries).toHaveLength(2);
    const all = await ctx.http
      .get(`/api/webhooks/${subs.all.webhook.id}/deliveries`)
      .set("authorization", `Bearer ${token}`)
      .expect(200);
    const row = all.body.deliveries.find(
      (d: { id: string }) => d.id === completed.headers["x-optio-delivery"],
    );
    expect(row).toEqual({
      id: completed.headers["x-optio-delivery"],
      eventId: completed.json.id,
      eventType: "task.completed",
      state: "delivered",
      attempts: 1,
      lastStatus: 200,
      lastError: null,
      nextAttemptAt: null,
      deliveredAt: expect.any(String),
      createdAt: expect.any(String),
    });
    const createdTimes = all.body.deliveries.map((d: { createdAt: string }) => d.createdAt);
    expect([...createdTimes].sort().reverse()).toEqual(createdTimes);

    // The secret is in no delivery row and no delivery response.
    const rows = JSON.stringify(await ctx.prisma.notificationDelivery.findMany());
    for (const { secret } of Object.values(subs)) {
      expect(rows).not.toContain(secret);
      expect(all.text).not.toContain(secret);
    }
  });

  it("gets every delivery to a receiver that was down, once it is back, exactly once each", async () => {
    const flaky = await receiver();
    const sub = await subscribe(ctx, flaky.url, ["task.completed"]);
    const before = await metrics.registry.getSingleMetricAsString("optio_notification_deliveries_total");
    const deliveredBefore = await ctx.prisma.notificationDelivery.count({ where: { state: "delivered" } });
    await flaky.setMode("down");
    const tasks = [
      await taskIn(api, "completed"),
      await taskIn(api, "completed"),
      await taskIn(api, "completed"),
    ];
    const where = { subscriptionId: sub.webhook.id };
    await eventually(
      "three deliveries refused at least twice",
      () => ctx.prisma.notificationDelivery.findMany({ where }),
      (rows) => rows.length === 3 && rows.every((row) => row.attempts >= 2 && row.state === "pending"),
    );
    const refused = await ctx.prisma.notificationDelivery.findMany({ where });
    expect(refused.map((row) => [row.lastStatus, row.lastError])).toEqual(
      Array(3).fill([null, expect.stringMatching(/ECONNREFUSED/)]),
    );

    await flaky.setMode("error");
    await eventually(
      "an HTTP 500 recorded",
      () => ctx.prisma.notificationDelivery.findMany({ where }),
      (rows) => rows.every((row) => row.lastStatus === 500 && row.lastError === "HTTP 500"),
    );
    const failedAttempts = flaky.received.length;
    expect(failedAttempts).toBeGreaterThanOrEqual(3);

    await flaky.setMode("ok");
    await eventually(
      "all three delivered",
      () => ctx.prisma.notificationDelivery.findMany({ where }),
      (rows) => rows.every((row) => row.state === "delivered"),
    );
    expect(flaky.accepted.map((d) => d.json.data.taskId).sort()).toEqual(tasks.map((t) => t.id).sort());
    const ids = flaky.accepted.map((d) => d.headers["x-optio-delivery"]);
    expect(new Set(ids).size).toBe(3);
    // Each retry of a delivery carried the same delivery id.
    for (const task of tasks) {
      expect(new Set(forTask(flaky.received, task.id).map((d) => d.headers["x-optio-delivery"])).size).toBe(
        1,
      );
    }
    const rows = await ctx.prisma.notificationDelivery.findMany({ where });
    expect(rows.every((row) => row.attempts >= 3 && row.lastStatus === 200 && row.lastError === null)).toBe(
      true,
    );

    const count = (text: string, outcome: string) =>
      Number(new RegExp(`outcome="${outcome}"} (\\d+)`).exec(text)?.[1] ?? 0);
    // Other subscriptions of this file took these events too: the counter agrees with the rows.
    const delta = async () => {
      const text = await metrics.registry.getSingleMetricAsString("optio_notification_deliveries_total");
      const rows = await ctx.prisma.notificationDelivery.count({ where: { state: "delivered" } });
      return {
        counted: count(text, "delivered") - count(before, "delivered"),
        rows: rows - deliveredBefore,
        retries: count(text, "retry") - count(before, "retry"),
      };
    };
    const settled = await eventually("the counter matching the rows", delta, (d) => d.counted === d.rows);
    expect(settled.rows).toBeGreaterThanOrEqual(3);
    expect(settled.retries).toBeGreaterThanOrEqual(6);
  });

  it("stops delivering to a deleted subscription", async () => {
    const deleted = await receiver();
    const control = await receiver();
    await deleted.setMode("error");
    const gone = await subscribe(ctx, deleted.url, ["task.failed"]);
    await subscribe(ctx, control.url, ["task.failed"]);
    const first = await taskIn(api, "failed");
    await eventually(
      "the first delivery refused",
      () => deleted.received.length,
      (n) => n >= 1,
    );
    await eventually(
      "the control got it",
      () => control.accepted.length,
      (n) => n === 1,
    );

    const token = await ctx.adminToken();
    await ctx.http
      .delete(`/api/webhooks/${gone.webhook.id}`)
      .set("authorization", `Bearer ${token}`)
      .expect(200);
    expect(await ctx.prisma.notificationDelivery.count({ where: { subscriptionId: gone.webhook.id } })).toBe(
      0,
    );
    await ctx.notifications.worker.drain();
    const requestsAtDelete = deleted.received.length;
    await deleted.setMode("ok");

    const second = await taskIn(api, "failed");
    await eventually(
      "the control got the second",
      () => control.accepted.length,
      (n) => n === 2,
    );
    await ctx.notifications.worker.drain();
    expect(forTask(deleted.received, second.id)).toHaveLength(0);
    expect(deleted.received.length).toBe(requestsAtDelete);
    expect(forTask(deleted.received, first.id).every((d) => d.answered === 500)).toBe(true);
  });

  it("refuses at delivery time a target that has become a private address", async () => {
    const target = await receiver();
    const sub = await subscribe(ctx, target.url, ["task.needs_attention"]);
    await ctx.prisma.notificationSubscription.update({
      where: { id: sub.webhook.id },
      data: { url: "http://10.1.2.3/hook" },
    });
    await taskIn(api, "needs_attention");
    const row = await eventually(
      "an attempt refused by the guard",
      () => ctx.prisma.notificationDelivery.findFirst({ where: { subscriptionId: sub.webhook.id } }),
      (found) => (found?.attempts ?? 0) >= 1 && found?.lastError !== null,
    );
    expect(row!.lastStatus).toBeNull();
    expect(row!.lastError).toContain("10.1.2.3");
    expect(target.received).toHaveLength(0);
  });
});

describe("several API replicas", () => {
  it("share the consumer and the work: each delivery is sent once", async () => {
    const second = await context({
      databaseUrl: ctx.databaseUrl,
      config: FAST_RETRIES,
      notifications: { intervalMs: 100 },
    });
    const target = await receiver();
    await subscribe(ctx, target.url, ["task.pr_opened"]);
    const tasks = [];
    for (let i = 0; i < 6; i++) tasks.push(await taskIn(api, "pr_opened"));
    await eventually(
      "six deliveries",
      () => target.accepted.length,
      (n) => n >= 6,
    );
    await Promise.all([ctx.notifications.worker.drain(), second.notifications.worker.drain()]);
    expect(target.received.map((d) => d.json.data.taskId).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(new Set(target.received.map((d) => d.headers["x-optio-delivery"])).size).toBe(6);
  });
});

describe("giving up", () => {
  it("marks a delivery failed once it is older than the maximum age", async () => {
    const short = await context({
      config: { ...FAST_RETRIES, OPTIO_WEBHOOK_MAX_AGE_MS: 1_000 },
      notifications: { intervalMs: 100, durableName: "optio-notifications-short" },
    });
    const down = await receiver();
    await down.setMode("error");
    const sub = await subscribe(short, down.url, ["task.completed"]);
    await taskIn(await apiFor(short), "completed");
    const row = await eventually(
      "the delivery given up",
      () => short.prisma.notificationDelivery.findFirst({ where: { subscriptionId: sub.webhook.id } }),
      (found) => found?.state === "failed",
    );
    expect(row!.attempts).toBeGreaterThan(1);
    expect(row!.lastStatus).toBe(500);
    expect(down.accepted).toHaveLength(0);
    const token = await short.adminToken();
    const history = await short.http
      .get(`/api/webhooks/${sub.webhook.id}/deliveries`)
      .set("authorization", `Bearer ${token}`)
      .expect(200);
    expect(history.body.deliveries[0]).toMatchObject({
      state: "failed",
      nextAttemptAt: null,
      deliveredAt: null,
    });
    await short.notifications.worker.drain();
    const attempts = down.received.length;
    await short.notifications.worker.drain();
    expect(down.received.length).toBe(attempts);
  });
});
