// GET /metrics on its own port, scraped and parsed like Prometheus would, against real Postgres and
// NATS; and GET /api/stats.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApiMetrics } from "../../src/metrics/api-metrics";
import { startMetricsServer } from "@optio/core";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, createTask, driveTo, REPO_URL, type Api } from "../tasks/task-fixtures";
import { createLogger } from "../../src/logger";

type Sample = { name: string; labels: Record<string, string>; value: number };

/** The Prometheus text format: `name{a="x",b="y"} value`, comments skipped. */
function parse(text: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of match[2]?.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g) ?? [])
        labels[key!] = value!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

let ctx: TestContext;
let api: Api;
let metrics: ApiMetrics;
let server: http.Server;

beforeAll(async () => {
  ctx = await createTestContext();
  metrics = new ApiMetrics({ prisma: ctx.prisma, nats: ctx.nats });
  api = await apiFor(ctx);
  const logger = createLogger({ name: "metrics-test", level: "silent" });
  server = await startMetricsServer({ registry: metrics.registry, port: 0, host: "127.0.0.1", logger });
});
afterAll(async () => {
  server.close();
  await ctx.close();
});

async function scrape(path = "/metrics"): Promise<{ status: number; type: string; body: string }> {
  const port = (server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${port}${path}`, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }),
        );
      })
      .on("error", reject);
  });
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe("GET /metrics", () => {
  it("tasks by state, claimable queue by repo, run durations, outbox backlog and lag, JetStream pending", async () => {
    await ctx.dispatch.server.start();
    const queued = await Promise.all([createTask(api), createTask(api), createTask(api)]);
    const done = await createTask(api, { repoUrl: "https://github.com/acme/other" });
    await driveTo(ctx, done.id, "completed");
    const run = await ctx.prisma.run.findFirstOrThrow({ where: { taskId: done.id } });
    const started = new Date(Date.now() - 60_000);
    await ctx.prisma.run.update({
      where: { id: run.id },
      data: { state: "succeeded", startedAt: started, finishedAt: new Date(started.getTime() + 45_000) },
    });
    // An unpublished event, 30 s old: the publisher is stopped so it stays there.
    await ctx.publisher.stop();
    const stale = await ctx.prisma.outboxEvent.create({
      data: {
        id: "00000000-0000-4000-8000-00000000beef",
        subject: "optio.task.x.updated",
        type: "task.updated",
        data: {},
        createdAt: new Date(Date.now() - 30_000),
      },
    });

    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.type).toContain("text/plain");
    const samples = parse(res.body);
    expect(value(samples, "optio_tasks", { state: "queued" })).toBe(queued.length);
    expect(value(samples, "optio_tasks", { state: "completed" })).toBe(1);
    expect(value(samples, "optio_queue_claimable", { repo: REPO_URL })).toBe(3);
    expect(
      value(samples, "optio_queue_claimable", { repo: "https://github.com/acme/other" }),
    ).toBeUndefined();
    expect(value(samples, "optio_run_duration_seconds_bucket", { outcome: "succeeded", le: "30" })).toBe(0);
    expect(value(samples, "optio_run_duration_seconds_bucket", { outcome: "succeeded", le: "60" })).toBe(1);
    expect(value(samples, "optio_run_duration_seconds_bucket", { outcome: "succeeded", le: "+Inf" })).toBe(1);
    expect(value(samples, "optio_run_duration_seconds_sum", { outcome: "succeeded" })).toBeCloseTo(45, 3);
    const unpublished = await ctx.prisma.outboxEvent.count({ where: { publishedAt: null } });
    expect(value(samples, "optio_outbox_backlog")).toBe(unpublished);
    expect(value(samples, "optio_outbox_publish_lag_seconds")).toBeGreaterThanOrEqual(30);
    expect(
      samples.some((s) => s.name === "optio_jetstream_consumer_pending" && s.labels.stream === "OPTIO_RUNS"),
    ).toBe(true);
    expect(value(samples, "optio_lease_expiries")).toBe(0);
    await ctx.prisma.outboxEvent.delete({ where: { seq: stale.seq } });
  });

  it("HTTP requests by route template and status; other paths 404", async () => {
    const observed = await createTestContext({ metrics });
    try {
      const token = await observed.adminToken();
      await observed.http.get("/api/tasks").set("authorization", `Bearer ${token}`).expect(200);
      await observed.http.get("/api/tasks/not-a-uuid").set("authorization", `Bearer ${token}`).expect(400);
      const samples = parse((await scrape()).body);
      expect(
        value(samples, "optio_http_request_duration_seconds_count", {
          method: "GET",
          route: "/api/tasks",
          status: "200",
        }),
      ).toBe(1);
      expect(
        value(samples, "optio_http_request_duration_seconds_count", {
          method: "GET",
          route: "/api/tasks/:id",
          status: "400",
        }),
      ).toBe(1);
    } finally {
      await observed.close();
    }
    expect((await scrape("/other")).status).toBe(404);
  });
});

describe("GET /api/stats", () => {
  it("counts by state and repository, from the server", async () => {
    const res = await api.auth(ctx.http.get("/api/stats")).expect(200);
    const total = await ctx.prisma.task.count();
    expect(res.body.total).toBe(total);
    expect(res.body.byState.queued).toBe(await ctx.prisma.task.count({ where: { state: "queued" } }));
    const repo = res.body.byRepo.find((r: { repoUrl: string }) => r.repoUrl === REPO_URL);
    expect(repo.byState.queued).toBe(
      await ctx.prisma.task.count({ where: { repoUrl: REPO_URL, state: "queued" } }),
    );
    await ctx.http.get("/api/stats").expect(401);
  });
});
