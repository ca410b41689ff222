// Dispatch benchmarks with real parts (API and runner processes, Docker, the test agent image, a git
// server on 127.0.0.1):
//  1. latency from POST /api/tasks returning to the container's first output line, p50/p99 over
//     BENCH_RUNS trivial shell tasks with an idle runner, beside a raw `docker run` of the same image;
//  2. throughput of short shell tasks with 1, 2 and 4 runner processes;
//  3. claim cost (p50/p99 of 300 claim requests after 20 warm-up ones) with 10k and 100k queued tasks,
//     in a queue whose head has free repos and in one whose head is blocked by full repos;
//  4. memory: runner RSS idle and with all slots busy, API RSS under load;
//  5. clone of a generated repository (BENCH_REPO_FILES files): plain, through the repo cache, and
//     from the repository's workspace snapshot.
// BENCH_PARTS=latency,throughput,claims,clone picks parts; `npm run bench -- --smoke dispatch` runs a
// few of each. The warm pool's latency is measured beside the cold path and raw docker run.
//   node_modules/.bin/tsx bench/dispatch.ts    (BENCH_RUNS=50 BENCH_TASKS=24)
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connectNats } from "../services/api/src/nats/connection";
import pg from "pg";
import { startGitServer } from "../services/runner/src/testing/git-server";
import { testAgentImage } from "../services/runner/src/testing/agent-image";
import { claimPhases, claimRoundTrips, natsRoundTrip } from "./lib/claim-profile";
import { cloneBench } from "./lib/clone-bench";
import {
  apiToken,
  rssMb,
  setting,
  smoke,
  startApi,
  startRunnerProcess,
  startStack,
  type Server,
} from "./lib/stack";

const RUNS = setting("RUNS", 50, 2);
const TASKS = setting("TASKS", 24, 2);
const CLAIMS = setting("CLAIMS", 300, 5);
const REPO_FILES = setting("REPO_FILES", 10_000, 200);
const CLONE_ROUNDS = setting("CLONE_ROUNDS", 3, 1);
const RUNNER_COUNTS = smoke ? [1] : [1, 2, 4];
const QUEUED = smoke ? [1_000] : [10_000, 100_000];
/** Which parts to run (all by default): latency, throughput, claims, clone. */
const PARTS = new Set((process.env.BENCH_PARTS ?? "latency,throughput,claims,clone").split(","));

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (value: number) => `${value.toFixed(0).padStart(5)} ms`;
const ms2 = (value: number) => `${value.toFixed(2).padStart(6)} ms`;
type RunnerView = { runnerId: string; pool?: { size: number; ready: number; used: number } };

/** User + system CPU seconds of processes (children that exited and were waited for included). */
const cpuSeconds = (pids: number[]) =>
  pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      // utime, stime, cutime, cstime (fields 14-17 of stat; 12-15 after the command).
      return sum + [11, 12, 13, 14].reduce((s, i) => s + Number(fields[i]), 0) / 100;
    } catch {
      return sum;
    }
  }, 0);

/** CPU seconds the whole machine spent (every process and the kernel), from /proc/stat's cpu line. */
const machineCpuSeconds = () => {
  const [user, nice, system, , , irq, softirq] = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]!
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user! + nice! + system! + irq! + softirq!) / 100;
};

const daemonPids = () =>
  ["dockerd", "containerd"].flatMap((name) => {
    try {
      return execFileSync("pidof", [name], { encoding: "utf8" }).trim().split(" ").map(Number);
    } catch {
      return [];
    }
  });

async function stopAll(children: ChildProcess[]) {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve(null);
          child.once("exit", resolve);
          child.kill("SIGTERM");
        }),
    ),
  );
}

class Client {
  constructor(
    private readonly api: Server,
    private readonly token: string,
  ) {}

  async post(pathName: string, body: unknown) {
    const res = await fetch(`${this.api.url}${pathName}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${pathName}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { task: { id: string } };
  }

  async get(pathName: string) {
    const res = await fetch(`${this.api.url}${pathName}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    return (await res.json()) as Record<string, unknown>;
  }

  async waitRunners(count: number, ready: (runner: RunnerView) => boolean = () => true) {
    for (;;) {
      const { runners } = (await this.get("/api/runners")) as { runners: RunnerView[] };
      if (runners.filter(ready).length >= count) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function firstLineAt(db: pg.Client, taskId: string): Promise<number> {
  for (;;) {
    const { rows } = await db.query("SELECT min(created_at) AS t FROM task_logs WHERE task_id = $1", [
      taskId,
    ]);
    if (rows[0]?.t) return (rows[0].t as Date).getTime();
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitDone(db: pg.Client, ids: string[]) {
  for (;;) {
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1) AND state IN ('completed','failed','needs_attention')",
      [ids],
    );
    if (rows[0].n === ids.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A CHECKPOINT, as the superuser: the services' role (the bench's `db`) may not (pg_checkpoint). */
async function checkpoint(adminUrl: string) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query("CHECKPOINT");
  } finally {
    await admin.end();
  }
}

/** Raw `docker run` of the same image: spawn to first stdout line. */
function rawDockerRun(image: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("docker", [
      "run",
      "--rm",
      "--network",
      "host",
      "--entrypoint",
      "bash",
      image,
      "-c",
      "echo first",
    ]);
    child.stdout.once("data", () => resolve(performance.now() - started));
    child.once("error", reject);
  });
}

async function main() {
  const image = testAgentImage();
  const stack = await startStack("optio_bench_dispatch");
  const git = await startGitServer(null);
  git.createRepo("bench");
  const api = await startApi(stack, { OPTIO_DEFAULT_IMAGE: image, OPTIO_ALLOWED_REPO_HOSTS: "127.0.0.1" });
  const client = new Client(api, await apiToken(api.url));
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  // One repo, no concurrency cap for the benchmark (the default is 2 per repo).
  await client.post("/api/repos", { repoUrl: git.url("bench"), maxConcurrentTasks: 100 });
  const task = (prompt: string) => ({
    title: "bench",
    prompt,
    repoUrl: git.url("bench"),
    agentType: "shell",
  });
  const children: ChildProcess[] = [];
  try {
    let idleRss = NaN;
    let busyRss = NaN;
    let apiRssUnderLoad = NaN;
    if (PARTS.has("latency")) {
      // 1. Latency with one idle runner.
      const runner = startRunnerProcess(stack, "bench-1", image, 4);
      children.push(runner);
      await client.waitRunners(1);
      idleRss = rssMb(runner.pid!);
      const raw: number[] = [];
      for (let i = 0; i < Math.min(RUNS, 20); i++) raw.push(await rawDockerRun(image));
      const latencyOf = async (runs: number) => {
        const latencies: number[] = [];
        for (let i = 0; i < runs; i++) {
          const { task: created } = await client.post("/api/tasks", task("echo ok > out.txt"));
          const returned = Date.now();
          latencies.push((await firstLineAt(db, created.id)) - returned);
          await waitDone(db, [created.id]);
        }
        return latencies;
      };
      // CPU per run: by process where a pid is known, and the whole machine (container processes,
      // shims, runc, Postgres, NATS, this bench's polling: whatever else ran meanwhile).
      const cpuOf = {
        API: () => cpuSeconds([api.child.pid!]),
        runner: () => cpuSeconds([runner.pid!]),
        "dockerd + containerd": () => cpuSeconds(daemonPids()),
        "whole machine": machineCpuSeconds,
      };
      const cpuBefore = Object.values(cpuOf).map((read) => read());
      const latencies = await latencyOf(RUNS);
      const cpuPerRun = Object.entries(cpuOf).map(
        ([name, read], i) => `${name} ${((read() - cpuBefore[i]!) / RUNS).toFixed(3)}`,
      );

      // The same with a warm pool (a second runner process; the cold one is stopped first).
      await stopAll(children.splice(0));
      const warmRunner = startRunnerProcess(stack, "bench-warm", image, 4, { OPTIO_RUNNER_WARM_POOL: "2" });
      children.push(warmRunner);
      await client.waitRunners(1, (r) => (r.pool?.ready ?? 0) >= 2);
      const warm = await latencyOf(RUNS);
      await stopAll(children.splice(0));

      const line = (label: string, values: number[]) =>
        console.log(
          `  ${label.padEnd(44)} p50 ${ms(percentile(values, 50))}  p99 ${ms(percentile(values, 99))}`,
        );
      console.log(`\nDispatch latency, ${RUNS} trivial shell tasks, one idle runner`);
      line("cold: POST returned -> first container line", latencies);
      line("warm pool: POST returned -> first line", warm);
      line(`raw docker run -> first line (${raw.length} runs)`, raw);
      console.log(
        `  cold overhead at p50: ${ms(percentile(latencies, 50) - percentile(raw, 50))} (target <= 50 ms); ` +
          `warm p50 / raw p50: ${(percentile(warm, 50) / percentile(raw, 50)).toFixed(2)} (target < 1, stretch < 0.5)`,
      );
      console.log(
        `  CPU seconds per cold trivial run: ${cpuPerRun.join("; ")} (the last: a quiet machine only)`,
      );
      children.push(startRunnerProcess(stack, "bench-1b", image, 4));
      await client.waitRunners(1);
      const busyRunner = children.at(-1)!;

      // 4a. Runner RSS with all slots busy.
      const slow = await Promise.all(
        Array.from({ length: 4 }, () => client.post("/api/tasks", task("sleep 3; echo x > y"))),
      );
      await new Promise((r) => setTimeout(r, 2000));
      busyRss = rssMb(busyRunner.pid!);
      await waitDone(
        db,
        slow.map((s) => s.task.id),
      );
      await stopAll(children.splice(0));
    }

    // 2. Throughput with 1, 2 and 4 runner processes (2 slots each).
    if (PARTS.has("throughput")) {
      console.log(`\nThroughput, ${TASKS} short shell tasks`);
      apiRssUnderLoad = 0;
      for (const count of RUNNER_COUNTS) {
        for (let i = 0; i < count; i++)
          children.push(startRunnerProcess(stack, `bench-t${count}-${i}`, image, 2));
        await client.waitRunners(count);
        const started = performance.now();
        const ids = (
          await Promise.all(
            Array.from({ length: TASKS }, () => client.post("/api/tasks", task("echo t > t.txt"))),
          )
        ).map((r) => r.task.id);
        await new Promise((r) => setTimeout(r, 500));
        apiRssUnderLoad = Math.max(apiRssUnderLoad, rssMb(api.child.pid!));
        await waitDone(db, ids);
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `  ${count} runner(s) x 2 slots: ${(TASKS / seconds).toFixed(2)} tasks/s (${seconds.toFixed(1)} s)`,
        );
        await stopAll(children.splice(0));
      }
    }

    // 3. Claim cost with 10k and 100k queued tasks (agent type no runner here serves), in two
    //    queue layouts over 500 repos (at most 2 active each, and claimed tasks never finish here):
    //    - spread: each priority level holds one task of every repo, so the queue head always has
    //      a repo with a free slot (the common case);
    //    - blocked: each priority level is one repo's backlog, so once a repo is full its tasks
    //      fill the head and every claim falls back to the per-repo walk (the worst case).
    if (PARTS.has("claims")) {
      console.log("\nClaim cost (one claim request = one task claimed)");
      const nc = await connectNats(stack.natsUrl, "bench-claimer");
      const layouts = { spread: "(g / 500) % 1000", blocked: "g % 1000" };
      for (const [layout, priority] of Object.entries(layouts)) {
        await db.query("TRUNCATE tasks CASCADE"); // each layout on a fresh table
        for (const queued of QUEUED) {
          const { rows } = await db.query("SELECT count(*)::int AS n FROM tasks WHERE state = 'queued'");
          const missing = queued - rows[0].n;
          if (missing > 0) {
            await db.query(
              `INSERT INTO tasks (id, title, prompt, repo_url, repo_branch, agent_type, state, priority, max_attempts, updated_at)
               SELECT gen_random_uuid(), 'q', 'p', 'https://example.com/claims/r' || (g % 500), 'main', 'codex', 'queued',
                      ${priority}, 3, now()
                 FROM generate_series(1, $1) g`,
              [missing],
            );
          }
          // A settled table, as autovacuum would leave it, and no checkpoint in the middle of the sample.
          await db.query("VACUUM ANALYZE tasks");
          await checkpoint(stack.adminUrl);
          await claimRoundTrips(nc, "bench-claimer", 20); // warm-up
          const times = await claimRoundTrips(nc, "bench-claimer", CLAIMS);
          const wire = await natsRoundTrip(nc, CLAIMS);
          const phases = await claimPhases(stack.databaseUrl, "bench-claimer", Math.ceil(CLAIMS / 3));
          // Close what was claimed, so no lease of this phase expires into the next one.
          await db.query(
            "UPDATE runs SET state = 'cancelled' WHERE runner_id = 'bench-claimer' AND state = 'provisioning'",
          );
          await db.query(
            "UPDATE tasks SET state = 'cancelled' WHERE state = 'provisioning' AND agent_type = 'codex'",
          );
          console.log(
            `  ${layout.padEnd(7)} ${String(queued).padStart(6)} queued: p50 ${ms2(percentile(times, 50))}` +
              `  p99 ${ms2(percentile(times, 99))}  (targets 5 / 15 ms)`,
          );
          console.log(
            `     where it goes (medians): NATS round trip ${ms2(percentile(wire, 50))}; in-process claim: ` +
              Object.entries(phases)
                .map(([name, value]) => `${name} ${value.toFixed(2)}`)
                .join(", ") +
              " ms",
          );
        }
      }
      await nc.close();
    }

    if (PARTS.has("clone")) {
      const c = await cloneBench(git, image, REPO_FILES, CLONE_ROUNDS);
      console.log(
        `\nClone of a generated repository (${c.files} files, ${c.sizeMb} MB of .git), medians of ${c.rounds};` +
          " optio-clone's own time in a container (the whole `docker run` in brackets)",
      );
      const later = (figures: typeof c.cached) =>
        `${ms(figures.fetchMs + figures.cloneMs)}  (mirror fetch ${ms(figures.fetchMs).trim()} + clone ` +
        `${ms(figures.cloneMs).trim()}) [${ms(figures.containerMs).trim()}]`;
      console.log(
        `  plain clone                           ${ms(c.plain.cloneMs)}  [${ms(c.plain.containerMs).trim()}]`,
      );
      console.log(`  later run with the repo cache         ${later(c.cached)}`);
      console.log(`  later run from the workspace snapshot ${later(c.snapshot)}`);
      const speedUp = (figures: typeof c.cached) =>
        (c.plain.cloneMs / (figures.fetchMs + figures.cloneMs)).toFixed(1);
      console.log(
        `  speed-up: ${speedUp(c.cached)}x with the cache, ${speedUp(c.snapshot)}x from the snapshot (target >= 5x);` +
          ` the snapshot's build (background, after a run): ${ms(c.snapshotBuildMs).trim()}`,
      );
    }

    // Each figure is read by the part that ran (latency: runner idle; throughput: the others).
    const memory = Object.entries({
      "runner idle": idleRss,
      "all 4 slots busy": busyRss,
      "API under load": apiRssUnderLoad,
    }).filter(([, mb]) => !Number.isNaN(mb));
    if (memory.length > 0) {
      console.log("\nMemory (RSS)");
      console.log(`  ${memory.map(([what, mb]) => `${what} ${mb.toFixed(0)} MB`).join("; ")}`);
    }
  } finally {
    await stopAll(children);
    await db.end();
    await api.stop();
    await git.close();
    await stack.stop();
    execFileSync("docker", ["container", "prune", "-f", "--filter", "label=optio.runner"], {
      stdio: "ignore",
    });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
