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

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const identifier = (name) => {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
};

/** Runs SQL (given on stdin, so no value shows in a process list) with psql at `url`; its output. */
function psql(url, sql) {
  ensureDebianPackages([{ name: "postgresql-client", binary: () => commandExists("psql") }]);
  const result = spawnSync("psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA"], {
    input: sql,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (result.status !== 0) throw new Error(`psql: ${result.stderr.trim() || `exit ${result.status}`}`);
  return result.stdout.trim();
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Creates `database` unless it exists; `{ recreate: true }` drops it first. `owner`: the role that
 * owns it and every object in it (an existing database and its objects are handed over).
 */
export function createDatabase(adminUrl, database, { recreate = false, owner } = {}) {
  const name = identifier(database);
  if (recreate) psql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  if (psql(adminUrl, `SELECT 1 FROM pg_database WHERE datname='${database}'`) !== "1") {
    psql(adminUrl, `CREATE DATABASE ${name}${owner ? ` OWNER ${identifier(owner)}` : ""}`);
  } else if (owner) {
    psql(adminUrl, `ALTER DATABASE ${name} OWNER TO ${identifier(owner)}`);
    psql(withDatabase(adminUrl, database), adoptObjectsSql(owner));
  }
}

/** Hands the objects of the public schema (made by an earlier, superuser, migration) to `owner`. */
function adoptObjectsSql(owner) {
  const role = identifier(owner);
  const alter = (kind, select) =>
    `FOR r IN ${select} LOOP EXECUTE format('ALTER ${kind} %I.%I OWNER TO ${role}', r.s, r.n); END LOOP;`;
  return `DO $$ DECLARE r record; BEGIN
    ${alter("TABLE", `SELECT schemaname s, tablename n FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '${owner}'`)}
    ${alter("SEQUENCE", `SELECT schemaname s, sequencename n FROM pg_sequences WHERE schemaname = 'public' AND sequenceowner <> '${owner}'`)}
    ${alter("VIEW", `SELECT schemaname s, viewname n FROM pg_views WHERE schemaname = 'public' AND viewowner <> '${owner}'`)}
    ${alter("TYPE", `SELECT n.nspname s, t.typname n FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype IN ('e', 'c', 'd') AND t.typrelid = 0 AND pg_get_userbyid(t.typowner) <> '${owner}'`)}
  END $$;`;
}

/**
 * Creates or updates a login role: not a superuser, `createdb` only when asked; its password set.
 * A role that creates databases also drops them `WITH (FORCE)`, which must end every session on the
 * database, an autovacuum worker's included (it has no role, so only pg_signal_backend covers it):
 * such a role gets pg_signal_backend (it still cannot signal a superuser's backend).
 */
function ensureRole(adminUrl, { name, password, createdb = false }) {
  const role = identifier(name);
  if (!/^[A-Za-z0-9_-]{16,}$/.test(password)) throw new Error(`${name}: an unexpected password format`);
  psql(
    adminUrl,
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${name}') THEN CREATE ROLE ${role} LOGIN; END IF;
     END $$;
     ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION ${createdb ? "CREATEDB" : "NOCREATEDB"}
       PASSWORD '${password}';
     ${createdb ? `GRANT pg_signal_backend TO ${role};` : `REVOKE pg_signal_backend FROM ${role};`}`,
  );
}

/**
 * Client authentication: the bootstrap superuser `postgres` only on the cluster's own socket (in
 * `dataDir`, which no container mounts), every TCP client by SCRAM password; nothing else.
 */
const PG_HBA = [
  "# Written by scripts/lib/services.mjs on every start.",
  "local all postgres trust",
  "host all all 127.0.0.1/32 scram-sha-256",
  "host all all ::1/128 scram-sha-256",
  "",
].join("\n");

/**
 * A private Postgres cluster in `dataDir` on 127.0.0.1:`port`; reuses an existing cluster in that
 * directory. TCP clients need a password (scram-sha-256); the superuser `postgres` connects only
 * through the socket in `dataDir` (`adminUrl`). `role` ({ name, password, createdb }) is the login
 * the services use: not a superuser, owner of `database` (`url`, `roleUrl(db)`). The settings go to
 * `dataDir/optio.conf` and `dataDir/pg_hba.conf` (rewritten on every start, so an older cluster made
 * with trust auth is brought in line), so a plain `pg_ctl -D dataDir -l dataDir/server.log start`
 * (as the postgres user) restarts it the same. `durable: false` turns fsync off (throw-away test
 * clusters). When root and the postgres user cannot reach `dataDir`, the cluster lives in
 * /var/lib/optio instead (said in the log).
 */
export async function startPostgres({
  dataDir,
  port,
  database = "optio",
  durable = true,
  settings: extra = [],
  role,
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
    await runPostgresTool(`${bin}/initdb`, [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
    ]);
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
  writeFileSync(`${dataDir}/pg_hba.conf`, PG_HBA, { mode: 0o600 });
  if (isRoot)
    for (const file of ["optio.conf", "pg_hba.conf"])
      chownSync(`${dataDir}/${file}`, postgresUserIds().uid, postgresUserIds().gid);
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
  const adminUrl = `postgresql://postgres@localhost:${port}/postgres?host=${encodeURIComponent(dataDir)}`;
  const roleUrl = (db) =>
    role ? `postgresql://${role.name}:${role.password}@127.0.0.1:${port}/${db}` : withDatabase(adminUrl, db);
  try {
    if (role) ensureRole(adminUrl, role);
    if (database) createDatabase(adminUrl, database, { owner: role?.name });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: roleUrl(database || "postgres"),
    adminUrl,
    roleUrl,
    binDir: bin,
    dataDir,
    stop,
  };
}

/**
 * nats-server with JetStream, storing in `dataDir`, its client and monitoring ports bound to
 * 127.0.0.1. Its configuration is `dataDir/nats.conf`; `authorization` (an `authorization { … }`
 * block, see credentials.mjs) goes to `dataDir/auth.conf` (mode 0600), which the server includes:
 * rewrite that file and `reload()` to change identities while it runs. Without it, no auth (the
 * benchmarks only). The server's pid is in `dataDir/nats.pid`.
 */
export async function startNats({ dataDir, port, monitorPort, logFile, authorization }) {
  ensureDebianPackages([{ name: "nats-server", binary: () => commandExists("nats-server") }]);
  mkdirSync(dataDir, { recursive: true });
  for (const p of [port, monitorPort]) {
    if (await tcpAnswers(p)) throw new Error(`port ${p} is taken (a leftover nats-server?); choose another`);
  }
  const configFile = `${dataDir}/nats.conf`;
  const authFile = `${dataDir}/auth.conf`;
  if (authorization !== undefined) writeFileSync(authFile, authorization, { mode: 0o600 });
  writeFileSync(
    configFile,
    [
      "# Written by scripts/lib/services.mjs on every start.",
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${monitorPort}"`,
      `jetstream { store_dir: ${JSON.stringify(dataDir)} }`,
      `pid_file: ${JSON.stringify(`${dataDir}/nats.pid`)}`,
      ...(authorization !== undefined ? ['include "auth.conf"'] : []),
      "",
    ].join("\n"),
  );
  const out = openSync(logFile, "a");
  const child = startProcess("nats-server", ["-c", configFile], {
    stdio: ["ignore", out, out],
    detached: true,
  });
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
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorPort,
    authFile,
    /** Re-reads the configuration (and auth.conf): identities added or removed. */
    reload: () => child.kill("SIGHUP"),
    stop: () => stopChild(child),
    child,
  };
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

/**
 * The Docker network runs go to (`npm start`): a user-defined bridge, created when missing, with
 * inter-container traffic off (one run cannot reach another). A container on it has its own
 * loopback, so it cannot reach what listens on the host's 127.0.0.1 (Postgres, NATS, the API).
 */
export function ensureRunNetwork(name) {
  const exists = spawnSync("docker", ["network", "inspect", name], { stdio: "ignore" }).status === 0;
  if (exists) return;
  log(`creating the Docker network ${name} for runs (a bridge without inter-container traffic)`);
  output("docker", [
    "network",
    "create",
    "--driver",
    "bridge",
    "--opt",
    "com.docker.network.bridge.enable_icc=false",
    "--label",
    "optio.network=runs",
    name,
  ]);
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
