// The per-component figures deploy/SCALING.md's capacity model uses, measured with real parts:
//  1. intake: POST /api/tasks per API process (tasks/s at 16 clients, and API CPU ms per task);
//  2. claims: claim requests per second with 10k queued tasks, 8 claimers in parallel, and the API
//     CPU ms per claim (the rest is Postgres);
//  3. reports: run-report messages per second into one JetStream stream (2 KB log batches, msg ids,
//     64 publishes in flight), file storage;
//  4. runner host: engine overhead per run (`docker run` of the agent image doing nothing), one at a
//     time and 4 at once.
//   node_modules/.bin/tsx bench/capacity.ts        BENCH_SMOKE=1 for a quick pass
import { spawn } from "node:child_process";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import pg from "pg";
import { subjects } from "../packages/contracts/src/subjects";
import { connectNats } from "../services/api/src/nats/connection";
import { testAgentImage } from "../services/runner/src/testing/agent-image";
import { apiToken, cpuSeconds, fmt, load, startApi, startStack } from "./lib/stack";

const SMOKE = process.env.BENCH_SMOKE === "1";
const SECONDS = SMOKE ? 2 : 10;
const CLAIMS = SMOKE ? 200 : 2000;
const REPORTS = SMOKE ? 2000 : 20000;
const RUNS = SMOKE ? 3 : 12;

async function inParallel(total: number, width: number, task: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next++ < total) await task();
    }),
  );
  return (performance.now() - started) / 1000;
}

async function main() {
  const stack = await startStack("optio_capacity");
  const api = await startApi(stack, { OPTIO_ALLOWED_REPO_HOSTS: "example.com" });
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    console.log(
      `load average: ${(await import("node:os"))
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} (figures are indicative)`,
    );
    const token = await apiToken(api.url);
    const intake = await load({
      url: `${api.url}/api/tasks`,
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ prompt: "x", repoUrl: "https://example.com/acme/app", agentType: "codex" }),
      connections: 16,
      duration: SECONDS,
      serverPid: api.child.pid,
    });
    console.log(`1. intake, one API process:      ${fmt(intake)}`);

    const { rows } = await db.query("SELECT count(*)::int AS n FROM tasks WHERE state = 'queued'");
    const missing = 10_000 - rows[0].n;
    if (missing > 0)
      await db.query(
        `INSERT INTO tasks (id, title, prompt, repo_url, repo_branch, agent_type, state, priority, max_attempts, updated_at)
         SELECT gen_random_uuid(), 'q', 'p', 'https://example.com/claims/r' || (g % 500), 'main', 'codex', 'queued',
                (g % 1000), 3, now() FROM generate_series(1, $1) g`,
        [missing],
      );
    await db.query("VACUUM ANALYZE tasks");
    const nc = await connectNats(stack.natsUrl, "bench-capacity");
    const claim = () =>
      nc.request(
        subjects.runnerClaim("bench-capacity"),
        JSON.stringify({ runnerId: "bench-capacity", freeSlots: 1, agentTypes: ["codex"], labels: [] }),
        { timeout: 30_000 },
      );
    const cpu0 = cpuSeconds(api.child.pid!);
    const claimSeconds = await inParallel(CLAIMS, 8, claim);
    const claimCpuMs = ((cpuSeconds(api.child.pid!) - cpu0) * 1000) / CLAIMS;
    console.log(
      `2. claims, 10k queued, 8 at once: ${(CLAIMS / claimSeconds).toFixed(0)} claims/s, API CPU ${claimCpuMs.toFixed(2)} ms/claim`,
    );

    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "BENCH_REPORTS", subjects: ["bench.run.>"] });
    const js = jetstream(nc);
    const payload = JSON.stringify({
      kind: "log",
      lines: Array.from({ length: 20 }, (_, n) => ({ n, content: "x".repeat(80) })),
    });
    let seq = 0;
    const reportSeconds = await inParallel(REPORTS, 64, () =>
      js.publish(`bench.run.${seq % 100}.log`, payload, { msgID: `bench:${seq++}` }),
    );
    console.log(
      `3. reports into one stream:      ${(REPORTS / reportSeconds).toFixed(0)} msgs/s of ${(payload.length / 1024).toFixed(1)} KB (acked, deduplicated)`,
    );
    await nc.close();

    const image = testAgentImage();
    const dockerRun = () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn("docker", ["run", "--rm", "--network", "none", "--entrypoint", "true", image], {
          stdio: "ignore",
        });
        child.once("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`docker run exited ${code}`)),
        );
      });
    const serial = await inParallel(RUNS, 1, dockerRun);
    const parallel = await inParallel(RUNS, 4, dockerRun);
    console.log(
      `4. runner host, engine overhead:  ${((serial / RUNS) * 1000).toFixed(0)} ms per run one at a time; ${(RUNS / parallel).toFixed(2)} runs/s 4 at once`,
    );
  } finally {
    await db.end();
    await api.stop();
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
