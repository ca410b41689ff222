// A throw-away Postgres (durable: fsync on) and NATS JetStream for a benchmark, on free ports in a
// temporary directory, migrated; plus helpers to start the real API process (services/api/src/main.ts)
// or another server script as a child and to measure it with autocannon.
// DATABASE_URL / NATS_URL point at existing services instead (nothing is started for them).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
// The same scripts npm start / npm test use.
import { createDatabase, startNats, startPostgres, stopChild } from "../../scripts/lib/services.mjs";
import { migrate } from "../../scripts/lib/stack.mjs";
import { freePort, isRoot } from "../../scripts/lib/system.mjs";

export const repoRoot = path.resolve(__dirname, "../..");

/** BENCH_SMOKE=1 (`npm run bench -- --smoke`): a second of load and a few tasks, to prove it runs. */
export const smoke = process.env.BENCH_SMOKE === "1";

/** A numeric setting: BENCH_<name> if set, else the smoke value in smoke mode, else the full one. */
export function setting(name: string, full: number, smokeValue: number): number {
  const value = process.env[`BENCH_${name}`];
  return value ? Number(value) : smoke ? smokeValue : full;
}

export type Stack = { databaseUrl: string; adminUrl: string; natsUrl: string; stop: () => Promise<void> };

export async function startStack(database = "optio_bench"): Promise<Stack> {
  const stops: (() => Promise<void>)[] = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), "optio-bench-"));
  if (isRoot) chmodSync(tmp, 0o755);
  stops.push(async () => rmSync(tmp, { recursive: true, force: true }));
  let adminUrl: string;
  let natsUrl: string;
  // The API connects as a role owning its database, as everywhere; the meter (pg_stat_statements)
  // as the superuser, through the cluster's socket.
  let owner: string | undefined;
  let roleUrl: (db: string) => string;
  if (process.env.DATABASE_URL) {
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = "/postgres";
    adminUrl = url.toString();
    roleUrl = (db) => Object.assign(new URL(adminUrl), { pathname: `/${db}` }).toString();
  } else {
    const role = { name: "optio_bench", password: randomBytes(24).toString("base64url") };
    const pg = await startPostgres({
      dataDir: path.join(tmp, "pg"),
      port: await freePort(),
      database: null,
      durable: true,
      // Statement counts: the benchmarks report Postgres round trips per request.
      settings: ["shared_preload_libraries = 'pg_stat_statements'"],
      role,
    });
    stops.push(pg.stop);
    adminUrl = pg.adminUrl;
    roleUrl = pg.roleUrl;
    owner = role.name;
  }
  if (process.env.NATS_URL) {
    natsUrl = process.env.NATS_URL;
  } else {
    mkdirSync(path.join(tmp, "logs"));
    const nats = await startNats({
      dataDir: path.join(tmp, "nats"),
      port: await freePort(),
      monitorPort: await freePort(),
      logFile: path.join(tmp, "logs", "nats.log"),
    });
    stops.push(nats.stop);
    natsUrl = nats.url;
  }
  createDatabase(adminUrl, database, { recreate: true, owner });
  const databaseUrl = roleUrl(database);
  migrate(databaseUrl);
  return {
    databaseUrl,
    adminUrl,
    natsUrl,
    stop: async () => {
      for (const stop of stops.reverse()) await stop().catch(() => {});
    },
  };
}

export type Server = { url: string; child: ChildProcess; stop: () => Promise<void> };

/**
 * Starts an entry point (TypeScript under tsx, or built JavaScript) and waits until `readyUrl`
 * answers. `launcher`: a script that execs the node binary it is given first (the process keeps
 * its pid, so its CPU and RSS are still node's).
 */
export async function startServer(
  entry: string,
  env: Record<string, string>,
  readyPath: string,
  { nodeArgs = [], launcher }: { nodeArgs?: string[]; launcher?: string } = {},
): Promise<Server> {
  const port = await freePort();
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : ["--enable-source-maps"];
  const command = launcher ? "sh" : process.execPath;
  const prefix = launcher ? [path.join(repoRoot, launcher), process.execPath] : [];
  const child = spawn(command, [...prefix, ...nodeArgs, ...loader, path.join(repoRoot, entry)], {
    cwd: repoRoot,
    env: { ...process.env, ...env, OPTIO_API_PORT: String(port), PORT: String(port) },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000; // a loaded machine can take a minute to compile and start it
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}${readyPath}`)).status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${entry} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, child, stop: () => stopChild(child) };
}

export type Load = {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  duration: number;
};

export type Figures = {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU time of the server process per request (load-independent), when `serverPid` was given. */
  cpuMsPerRequest?: number;
};

/** User + system CPU seconds of a process so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

export async function load(options: Load & { serverPid?: number }): Promise<Figures> {
  const cpuBefore = options.serverPid ? cpuSeconds(options.serverPid) : 0;
  const result = await autocannon({
    url: options.url,
    method: options.method ?? "GET",
    headers: { "content-type": "application/json", ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.duration,
  });
  const cpu = options.serverPid ? cpuSeconds(options.serverPid) - cpuBefore : undefined;
  return {
    ...(cpu !== undefined && result.requests.total > 0
      ? { cpuMsPerRequest: (cpu * 1000) / result.requests.total }
      : {}),
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export const fmt = (f: Figures) =>
  `${f.rps.toFixed(0).padStart(6)} req/s  p50 ${f.p50.toFixed(1).padStart(6)} ms  p99 ${f.p99.toFixed(1).padStart(6)} ms` +
  (f.cpuMsPerRequest !== undefined ? `  server CPU ${f.cpuMsPerRequest.toFixed(2)} ms/req` : "") +
  `  (${f.requests} requests, ${f.non2xx} non-2xx, ${f.errors} errors)`;

/** First admin + an API token (optio_pat_...), as a CI system would authenticate. */
export async function apiToken(apiUrl: string): Promise<string> {
  const post = async (pathName: string, body: unknown, token?: string) => {
    const res = await fetch(`${apiUrl}${pathName}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${pathName}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const setup = await post("/api/setup/complete", {
    email: "bench@example.test",
    password: `bench-${randomUUID()}`,
  });
  const created = await post("/api/auth/tokens", { name: "bench" }, setup.token as string);
  return created.token as string;
}

/** Resident memory of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** A throw-away key for the benchmark's stored secrets (the API refuses to start without one). */
const BENCH_SECRET_KEY = randomBytes(32).toString("base64");

let apiBundle: Promise<string> | undefined;

/**
 * What the API runs from: the production bundle the images run (scripts/build-dist.mjs, built
 * once per benchmark from this checkout), or with BENCH_API=source the sources under tsx, whose
 * compiler adds resident memory (about 35 MB idle here).
 */
function apiEntry(): Promise<string> {
  if (process.env.BENCH_API === "source") return Promise.resolve("services/api/src/main.ts");
  apiBundle ??= import(path.join(repoRoot, "scripts/build-dist.mjs")).then(async (dist) => {
    await (dist as { buildDist: () => Promise<void> }).buildDist();
    return "services/api/dist/main.js";
  });
  return apiBundle;
}

/**
 * The API process with quiet logs; `env` adds or overrides settings. It runs through
 * services/api/run-node.sh, with the memory settings it has in production. With BENCH_PROFILE=<dir> it
 * runs under `node --cpu-prof` and writes its profile there when it stops (see lib/profile.ts).
 */
export async function startApi(stack: Stack, env: Record<string, string> = {}): Promise<Server> {
  const profileDir = process.env.BENCH_PROFILE;
  return startServer(
    await apiEntry(),
    {
      DATABASE_URL: stack.databaseUrl,
      NATS_URL: stack.natsUrl,
      OPTIO_LOG_LEVEL: "warn",
      OPTIO_AUTH_RATE_LIMIT: "1000",
      OPTIO_SECRET_KEY: BENCH_SECRET_KEY,
      OPTIO_METRICS_PORT: "0",
      NODE_ENV: "production",
      ...env,
    },
    "/api/health",
    {
      launcher: "services/api/run-node.sh",
      nodeArgs: [
        ...(process.env.BENCH_API_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
        ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profileDir)}`] : []),
      ],
    },
  );
}

/** A runner process (services/runner/src/main.ts) on the stack's NATS, its runs on the host network. */
export function startRunnerProcess(
  stack: Stack,
  id: string,
  image: string,
  slots: number,
  extra: Record<string, string> = {},
): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "services/runner/src/main.ts")], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NATS_URL: stack.natsUrl,
      OPTIO_RUNNER_ID: id,
      OPTIO_RUNNER_IMAGE: image,
      OPTIO_RUNNER_NETWORK: "host",
      OPTIO_RUNNER_SLOTS: String(slots),
      OPTIO_LOG_LEVEL: "warn",
      ...extra,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
}
