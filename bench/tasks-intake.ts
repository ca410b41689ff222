// Task intake: POST /api/tasks throughput and p50/p99 latency at 32 concurrent clients for 10 s,
// beside a baseline measured in the same run on the same Postgres and NATS: a bare Fastify route
// doing one INSERT … RETURNING and one JetStream publish. Target: ≥ 0.6 of the baseline's throughput.
//   node_modules/.bin/tsx bench/tasks-intake.ts      (BENCH_DURATION=10 BENCH_CONNECTIONS=32)
import os from "node:os";
import { apiToken, fmt, load, startApi, startServer, startStack } from "./lib/stack";

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP = 3;

const body = JSON.stringify({
  title: "Add user avatar support",
  prompt: "Add avatar upload and display to user profiles",
  repoUrl: "https://github.com/acme/webapp",
  repoBranch: "main",
  agentType: "claude",
  priority: 0,
});

async function main() {
  const stack = await startStack("optio_bench_intake");
  try {
    const baseline = await startServer(
      "services/api/scripts/bench-baseline-server.ts",
      { DATABASE_URL: stack.databaseUrl, NATS_URL: stack.natsUrl },
      "/health",
    );
    let base;
    try {
      await load({
        url: `${baseline.url}/tasks`,
        method: "POST",
        body,
        connections: CONNECTIONS,
        duration: WARMUP,
      });
      base = await load({
        serverPid: baseline.child.pid,
        url: `${baseline.url}/tasks`,
        method: "POST",
        body,
        connections: CONNECTIONS,
        duration: DURATION,
      });
    } finally {
      await baseline.stop();
    }

    const api = await startApi(stack);
    let ours;
    try {
      const token = await apiToken(api.url);
      const headers = { authorization: `Bearer ${token}` };
      const url = `${api.url}/api/tasks`;
      await load({ url, method: "POST", headers, body, connections: CONNECTIONS, duration: WARMUP });
      ours = await load({
        serverPid: api.child.pid,
        url,
        method: "POST",
        headers,
        body,
        connections: CONNECTIONS,
        duration: DURATION,
      });
    } finally {
      await api.stop();
    }

    const ratio = ours.rps / base.rps;
    console.log(
      `\nTask intake, ${CONNECTIONS} connections, ${DURATION} s (after a ${WARMUP} s warm-up each)`,
    );
    console.log(`  baseline (INSERT + JetStream publish)  ${fmt(base)}`);
    console.log(`  POST /api/tasks                        ${fmt(ours)}`);
    console.log(
      `  throughput ratio ${ratio.toFixed(2)} (target ≥ 0.60): ${ratio >= 0.6 ? "met" : "NOT met"}`,
    );
    console.log(
      `  machine load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
  } finally {
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
