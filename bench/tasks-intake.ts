// Task intake: POST /api/tasks throughput and p50/p99 latency at 32 concurrent clients for 10 s,
// beside a baseline measured in the same run on the same Postgres and NATS: a bare Fastify route
// doing one INSERT … RETURNING and one JetStream publish. Also the Postgres round trips per created
// task (pg_stat_statements, every process on that database counted: API requests, auth and the
// outbox publisher) and the API's RSS right after the run and once idle BENCH_SETTLE s (10) later.
// Targets: ratio ≥ 0.8, p99 < 100 ms, ≤ 1 round trip per task, RSS < 150 MB.
//   npm run bench -- tasks-intake      (BENCH_DURATION=10 BENCH_CONNECTIONS=32 BENCH_PROFILE=<dir>)
import { mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import { DbMeter, perTask } from "./lib/db-counters";
import { monotonicMicros, topFrames } from "./lib/profile";
import { apiToken, fmt, load, rssMb, setting, smoke, startApi, startServer, startStack } from "./lib/stack";
import type { Figures, Server, Stack } from "./lib/stack";

const DURATION = setting("DURATION", 10, 1);
const CONNECTIONS = setting("CONNECTIONS", 32, 4);
const WARMUP = smoke ? 0 : 3;
/** Seconds of idle after the load before the settled RSS is read (V8 returns memory when idle). */
const SETTLE = setting("SETTLE", 10, 0);

const body = JSON.stringify({
  title: "Add user avatar support",
  prompt: "Add avatar upload and display to user profiles",
  repoUrl: "https://github.com/acme/webapp",
  repoBranch: "main",
  agentType: "claude",
  priority: 0,
});

type Measured = {
  figures: Figures;
  work: string;
  rssIdle: number;
  rss: number;
  /** RSS once the process has been idle SETTLE seconds after the load: what it keeps. */
  rssSettled: number;
  statements: string[];
  window: { from: number; to: number };
};

/** Warm-up, then the measured load on `url`; counts what reached `table` and the database work. */
async function measure(
  stack: Stack,
  meter: DbMeter,
  server: Server,
  target: { url: string; headers?: Record<string, string>; table: string },
): Promise<Measured> {
  const request = { url: target.url, method: "POST" as const, headers: target.headers, body };
  const rssIdle = rssMb(server.child.pid!);
  if (WARMUP > 0) await load({ ...request, connections: CONNECTIONS, duration: WARMUP });
  const rowsBefore = await meter.count(stack.databaseUrl, target.table);
  await meter.reset();
  const before = await meter.read();
  const from = monotonicMicros();
  const figures = await load({
    ...request,
    serverPid: server.child.pid,
    connections: CONNECTIONS,
    duration: DURATION,
  });
  const window = { from, to: monotonicMicros() };
  const rss = rssMb(server.child.pid!);
  const created = (await meter.count(stack.databaseUrl, target.table)) - rowsBefore;
  const after = await meter.read();
  const statements = await meter.top();
  const settleMs = SETTLE * 1000 - (monotonicMicros() - window.to) / 1000;
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  const rssSettled = rssMb(server.child.pid!);
  return { figures, work: perTask(before, after, created), rssIdle, rss, rssSettled, statements, window };
}

async function main() {
  const stack = await startStack("optio_bench_intake");
  const meter = await DbMeter.open(stack.adminUrl, "optio_bench_intake");
  const profileDir = process.env.BENCH_PROFILE;
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  try {
    const baseline = await startServer(
      "services/api/scripts/bench-baseline-server.ts",
      { DATABASE_URL: stack.databaseUrl, NATS_URL: stack.natsUrl },
      "/health",
    );
    let base: Measured;
    try {
      base = await measure(stack, meter, baseline, { url: `${baseline.url}/tasks`, table: "bench_baseline" });
    } finally {
      await baseline.stop();
    }

    const api = await startApi(stack);
    let ours: Measured;
    try {
      const token = await apiToken(api.url);
      ours = await measure(stack, meter, api, {
        url: `${api.url}/api/tasks`,
        headers: { authorization: `Bearer ${token}` },
        table: "tasks",
      });
    } finally {
      await api.stop();
    }

    const ratio = ours.figures.rps / base.figures.rps;
    const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
    console.log(
      `\nTask intake, ${CONNECTIONS} connections, ${DURATION} s (after a ${WARMUP} s warm-up each)` +
        (smoke ? " — SMOKE RUN: the figures mean nothing" : ""),
    );
    console.log(`  baseline (INSERT + JetStream publish)  ${fmt(base.figures)}`);
    console.log(`  POST /api/tasks                        ${fmt(ours.figures)}`);
    console.log(`  throughput ratio ${ratio.toFixed(2)} (target ≥ 0.80): ${verdict(ratio >= 0.8)}`);
    console.log(
      `  p99 ${ours.figures.p99.toFixed(1)} ms (target < 100 ms): ${verdict(ours.figures.p99 < 100)}`,
    );
    console.log(`  Postgres work, baseline: ${base.work}`);
    console.log(`  Postgres work, POST /api/tasks: ${ours.work} (target ≤ 1 round trip)`);
    console.log("  its most frequent statements (calls, query):");
    for (const line of ours.statements) console.log(`    ${line}`);
    console.log(
      `  API RSS after the run ${ours.rss.toFixed(0)} MB (target < 150 MB): ${verdict(ours.rss < 150)}; ` +
        `${SETTLE} s later ${ours.rssSettled.toFixed(0)} MB; idle before it ${ours.rssIdle.toFixed(0)} MB; ` +
        `the baseline server ${base.rss.toFixed(0)} MB`,
    );
    console.log(
      `  machine load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} on ${os.cpus().length} cores (figures indicative on a shared machine)`,
    );
    if (profileDir) {
      console.log(
        `\n  API CPU profile (${profileDir}), top functions by self time during the measured load:`,
      );
      for (const line of topFrames(profileDir, ours.window)) console.log(`    ${line}`);
    }
    if (ours.figures.requests === 0 || ours.figures.non2xx > 0 || ours.figures.errors > 0) {
      throw new Error("the intake run had failed requests");
    }
  } finally {
    await meter.close();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
