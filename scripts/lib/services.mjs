// Starts the infrastructure Optio needs (Postgres, NATS with JetStream, a Docker engine) as local
// processes, installing Debian's packages when they are missing. Each start function returns
// { url, stop } so callers can tear down exactly what they started.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, chownSync, existsSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createConnection } from "node:net";
import {
  commandExists,
  ensureDebianPackages,
  ExitedError,
  isRoot,
  log,
  output,
  postgresBinDir,
  runAsync,
  startProcess,
  waitFor,
  httpOk,
} from "./system.mjs";

function postgresUserIds() {
  return {
    uid: Number(output("id", ["-u", "postgres"]).trim()),
    gid: Number(output("id", ["-g", "postgres"]).trim()),
  };
}

/** Runs a Postgres binary as the `postgres` user when we are root (initdb refuses root). */
function runPostgresTool(bin, args) {
  const [cmd, fullArgs] = postgresTool(bin, args);
  // cwd "/": the postgres user may not be allowed into ours (pg_ctl complains).
  return runAsync(cmd, fullArgs, { stdio: ["ignore", "ignore", "inherit"], cwd: "/" });
}

function tcpAnswers(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function postgresTool(bin, args) {
  return isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

function postgresRunning(bin, dataDir) {
  const [cmd, args] = postgresTool(`${bin}/pg_ctl`, ["-D", dataDir, "status"]);
  return spawnSync(cmd, args, { stdio: "ignore", cwd: "/" }).status === 0;
}

/** Whether the `postgres` user can create and use `dir` (a root-only parent, like mkdtemp's, stops it). */
function postgresCanUse(dir) {
  if (!isRoot) return true;
  let parent = dir;
  while (!existsSync(parent)) parent = dirname(parent);
  return (
    spawnSync("runuser", ["-u", "postgres", "--", "test", "-x", parent], { stdio: "ignore" }).status === 0
  );
}

/** Creates `database` unless it exists; `{ recreate: true }` drops it first. */
export function createDatabase(adminUrl, database, { recreate = false } = {}) {
  ensureDebianPackages([{ name: "postgresql-client", binary: () => commandExists("psql") }]);
  const psql = (sql) => output("psql", [adminUrl, "-v", "ON_ERROR_STOP=1", "-tAc", sql]).trim();
  if (recreate) psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  if (psql(`SELECT 1 FROM pg_database WHERE datname='${database}'`) !== "1") {
    psql(`CREATE DATABASE "${database}"`);
  }
}

/**
 * A private Postgres cluster in `dataDir` on 127.0.0.1:`port` with trust auth for the `postgres`
 * user; reuses an existing cluster in that directory. The settings go to `dataDir/optio.conf`, so a
 * plain `pg_ctl -D dataDir -l dataDir/server.log start` (as the postgres user) restarts it the same.
 * `durable: false` turns fsync off (throw-away test clusters). When root and the postgres user
 * cannot reach `dataDir`, the cluster lives in /var/lib/optio instead (said in the log).
 */
export async function startPostgres({
  dataDir,
  port,
  database = "optio",
  durable = true,
  settings: extra = [],
}) {
  ensureDebianPackages([{ name: "postgresql", binary: () => postgresBinDir() !== undefined }]);
  const bin = postgresBinDir();
  if (!postgresCanUse(dataDir)) {
    const id = createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 12);
    const fallback = `/var/lib/optio/pg-${id}`;
    log(`the postgres user cannot reach ${dataDir}; keeping the cluster in ${fallback}`);
    dataDir = fallback;
  }
  mkdirSync(dataDir, { recursive: true });
  if (isRoot) {
    const { uid, gid } = postgresUserIds();
    chownSync(dataDir, uid, gid);
  }
  if (existsSync(`${dataDir}/PG_VERSION`) && postgresRunning(bin, dataDir)) {
    throw new Error(
      `a Postgres server is already running in ${dataDir} (another npm start, or a leftover one: ` +
        `${isRoot ? "runuser -u postgres -- " : ""}${bin}/pg_ctl -D ${dataDir} stop)`,
    );
  }
  if (await tcpAnswers(port)) throw new Error(`port ${port} is taken; choose another port`);
  if (!existsSync(`${dataDir}/PG_VERSION`)) {
    log(`initialising Postgres in ${dataDir}`);
    await runPostgresTool(`${bin}/initdb`, ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
    appendFileSync(`${dataDir}/postgresql.conf`, "\ninclude_if_exists = 'optio.conf'\n");
  }
  const settings = [
    `port = ${port}`,
    `unix_socket_directories = '${dataDir}'`,
    "listen_addresses = '127.0.0.1'",
    "max_connections = 200",
    ...(durable ? [] : ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]),
    ...extra, // e.g. the benchmarks' shared_preload_libraries = 'pg_stat_statements'
  ];
  writeFileSync(`${dataDir}/optio.conf`, `${settings.join("\n")}\n`);
  if (isRoot) chownSync(`${dataDir}/optio.conf`, postgresUserIds().uid, postgresUserIds().gid);
  await runPostgresTool(`${bin}/pg_ctl`, [
    "-D",
    dataDir,
    "-l",
    `${dataDir}/server.log`,
    "-w",
    "-t",
    "60",
    "start",
  ]);
  const stop = async () => {
    if (postgresRunning(bin, dataDir))
      await runPostgresTool(`${bin}/pg_ctl`, ["-D", dataDir, "-m", "fast", "-w", "stop"]);
  };
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  try {
    if (database) createDatabase(adminUrl, database);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/${database || "postgres"}`,
    adminUrl,
    binDir: bin,
    dataDir,
    stop,
  };
}

/** nats-server with JetStream, storing in `dataDir`, bound to 127.0.0.1. */
export async function startNats({ dataDir, port, monitorPort, logFile }) {
  ensureDebianPackages([{ name: "nats-server", binary: () => commandExists("nats-server") }]);
  mkdirSync(dataDir, { recursive: true });
  for (const p of [port, monitorPort]) {
    if (await tcpAnswers(p)) throw new Error(`port ${p} is taken (a leftover nats-server?); choose another`);
  }
  const out = openSync(logFile, "a");
  const child = startProcess(
    "nats-server",
    ["-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-js", "-sd", dataDir],
    { stdio: ["ignore", out, out], detached: true },
  );
  await waitFor(
    "NATS",
    async () => {
      if (child.exitCode !== null)
        throw new ExitedError(`nats-server exited with ${child.exitCode}, see ${logFile}`);
      return (
        (await httpOk({ host: "127.0.0.1", port: monitorPort }, "/healthz?js-enabled-only=true")) &&
        (await tcpAnswers(port))
      );
    },
    15_000,
  );
  return { url: `nats://127.0.0.1:${port}`, monitorPort, stop: () => stopChild(child), child };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopChild(child, { signal = "SIGTERM", graceMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

const dockerPing = (socketPath) => httpOk({ socketPath }, "/_ping");

/**
 * Makes sure a Docker engine answers on the default socket, starting Debian's dockerd when none
 * does. Returns stop() that stops only an engine we started.
 */
export async function ensureDocker({ logFile }) {
  const socketPath = "/var/run/docker.sock";
  if ((await dockerPing(socketPath)) || (await dockerPing(socketPath)))
    return { socketPath, stop: async () => {} };
  ensureDebianPackages([{ name: "docker.io", binary: () => commandExists("dockerd") }]);
  log("starting a Docker engine (dockerd)");
  const out = openSync(logFile, "a");
  const child = startProcess(isRoot ? "dockerd" : "sudo", isRoot ? [] : ["dockerd"], {
    stdio: ["ignore", out, out],
    detached: true,
  });
  await waitFor(
    "the Docker engine",
    async () => {
      if (child.exitCode !== null)
        throw new ExitedError(`dockerd exited with ${child.exitCode}, see ${logFile}`);
      return dockerPing(socketPath);
    },
    60_000,
  );
  return { socketPath, stop: () => stopChild(child, { graceMs: 20_000 }), child };
}
