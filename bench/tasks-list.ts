// GET /api/tasks?state=queued&limit=50 latency with 1k, 10k and 100k tasks in the table (one in
// eight queued, the rest spread over the other states; one run each): it must stay flat (indexes).
// Target: p99 under 20 ms at 100k. After seeding, VACUUM ANALYZE stands in for autovacuum (the total
// is an index-only count, which needs the visibility map a fresh bulk insert does not have yet).
// One client at a time (latency), after a warm-up; then, at the largest size, throughput with
// BENCH_CONNECTIONS clients beside a bare Fastify route doing the same SELECT … LIMIT 50 (same run,
// same database). The query plans are printed too.
//   npm run bench -- tasks-list      (BENCH_DURATION=5 seconds per size, BENCH_SIZES=1000,10000,100000)
import os from "node:os";
import pg from "pg";
import { apiToken, fmt, load, setting, smoke, startApi, startServer, startStack } from "./lib/stack";

const DURATION = setting("DURATION", 5, 1);
const CONNECTIONS = setting("CONNECTIONS", 8, 2);
const SIZES = (process.env.BENCH_SIZES ?? (smoke ? "1000" : "1000,10000,100000")).split(",").map(Number);

const STATES = [
  "queued",
  "completed",
  "failed",
  "running",
  "completed",
  "completed",
  "cancelled",
  "pr_opened",
];

/** Adds tasks (and one run each) until the table holds `size` rows: plain SQL, in batches. */
async function growTo(db: pg.Client, size: number, userId: string): Promise<void> {
  const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM tasks");
  let have = Number(rows[0]!.n);
  while (have < size) {
    const batch = Math.min(10_000, size - have);
    await db.query(
      `WITH t AS (
         INSERT INTO tasks (id, title, prompt, repo_url, repo_branch, agent_type, priority, state, created_by,
                            attempts, created_at, updated_at)
         SELECT gen_random_uuid(), 'Task ' || g, 'Prompt ' || g, 'https://github.com/acme/repo-' || (g % 50),
                'main', 'claude', (g * 7919) % 1001, ($3::text[])[1 + g % array_length($3::text[], 1)]::"TaskState",
                $4::uuid, 1, now() - (g || ' seconds')::interval, now()
           FROM generate_series($1::int, $2::int) AS g
         RETURNING id, state)
       INSERT INTO runs (id, task_id, attempt, kind, state, updated_at)
       SELECT gen_random_uuid(), id, 1, 'initial',
              CASE WHEN state = 'queued' THEN 'queued' WHEN state = 'running' THEN 'running'
                   WHEN state = 'completed' THEN 'succeeded' WHEN state = 'failed' THEN 'failed'
                   ELSE 'cancelled' END::"RunState", now()
         FROM t`,
      [have + 1, have + batch, STATES, userId],
    );
    have += batch;
  }
  await db.query("VACUUM ANALYZE tasks");
  await db.query("VACUUM ANALYZE runs");
}

async function main() {
  const stack = await startStack("optio_bench_list");
  const api = await startApi(stack);
  const bare = await startServer(
    "services/api/scripts/bench-baseline-server.ts",
    { DATABASE_URL: stack.databaseUrl, NATS_URL: stack.natsUrl },
    "/health",
  );
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    const token = await apiToken(api.url);
    const { rows } = await db.query<{ id: string }>("SELECT id FROM users LIMIT 1");
    const url = `${api.url}/api/tasks?state=queued&limit=50`;
    const headers = { authorization: `Bearer ${token}` };
    const results: string[] = [];
    for (const size of SIZES) {
      await growTo(db, size, rows[0]!.id);
      await load({ url, headers, connections: 1, duration: 1 });
      const figures = await load({
        serverPid: api.child.pid,
        url,
        headers,
        connections: 1,
        duration: DURATION,
      });
      results.push(`  ${String(size).padStart(7)} tasks  ${fmt(figures)}`);
    }
    const throughput = { connections: CONNECTIONS, duration: DURATION };
    const bareUrl = `${bare.url}/tasks?state=queued`;
    await load({ url: bareUrl, ...throughput, duration: 1 });
    const bareFigures = await load({ url: bareUrl, serverPid: bare.child.pid, ...throughput });
    const oursFigures = await load({ url, headers, serverPid: api.child.pid, ...throughput });
    const plan = async (sql: string) =>
      (await db.query<{ "QUERY PLAN": string }>(`EXPLAIN ANALYZE ${sql}`)).rows.map(
        (r) => `    ${r["QUERY PLAN"]}`,
      );
    console.log(`\nGET /api/tasks?state=queued&limit=50, one client, ${DURATION} s per size`);
    for (const line of results) console.log(line);
    console.log(`  target: p99 under 20 ms at 100k, flat across sizes`);
    console.log(`\nThroughput at ${SIZES.at(-1)} tasks, ${CONNECTIONS} clients, ${DURATION} s`);
    console.log(`  bare SELECT … LIMIT 50 route  ${fmt(bareFigures)}`);
    console.log(`  GET /api/tasks                ${fmt(oursFigures)}`);
    console.log(`  ratio ${(oursFigures.rps / bareFigures.rps).toFixed(2)}`);
    console.log(
      `  machine load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
    console.log("\n  page query plan at the largest size:");
    for (const line of await plan(
      `SELECT * FROM tasks WHERE state IN ('queued') ORDER BY created_at DESC, id DESC LIMIT 50`,
    ))
      console.log(line);
    console.log("  total query plan:");
    for (const line of await plan(`SELECT count(*) FROM tasks WHERE state IN ('queued')`)) console.log(line);
  } finally {
    await db.end();
    await bare.stop();
    await api.stop();
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
