// Used by bench/tasks-intake.ts and bench/tasks-list.ts. Lives here for the API package's
// dependencies (fastify, pg, nats). The baselines, on the same Postgres and NATS as the API, with no
// auth, no validation, no outbox: POST /tasks does one INSERT … RETURNING and one JetStream publish
// (acknowledged); GET /tasks?state= does one SELECT … LIMIT 50 on the API's tasks table.
import Fastify from "fastify";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import pg from "pg";

async function main() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
  pool.on("error", () => {}); // an idle connection cut when the benchmark stops Postgres
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_baseline (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), title text NOT NULL, prompt text NOT NULL,
    repo_url text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  const nc = await connect({ servers: process.env.NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "BENCH_BASELINE", subjects: ["bench.>"] }).catch(() => {});
  const js = jetstream(nc);

  const app = Fastify({ logger: false });
  app.get("/health", async () => ({ ok: true }));
  app.post("/tasks", async (request, reply) => {
    const body = request.body as { title: string; prompt: string; repoUrl: string };
    const { rows } = await pool.query<{ id: string; created_at: Date }>(
      "INSERT INTO bench_baseline (title, prompt, repo_url) VALUES ($1, $2, $3) RETURNING id, created_at",
      [body.title, body.prompt, body.repoUrl],
    );
    const row = rows[0]!;
    await js.publish(`bench.${row.id}.created`, JSON.stringify({ id: row.id, title: body.title }));
    return reply.status(201).send({ task: { id: row.id, createdAt: row.created_at } });
  });
  app.get("/tasks", async (request) => {
    const { state } = request.query as { state: string };
    const { rows } = await pool.query(
      'SELECT * FROM tasks WHERE state = $1::"TaskState" ORDER BY created_at DESC, id DESC LIMIT 50',
      [state],
    );
    return { tasks: rows };
  });
  await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
  const stop = async () => {
    await app.close();
    await nc.drain();
    await pool.end();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
