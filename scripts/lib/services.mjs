// Starts the infrastructure Optio needs (Postgres, NATS with JetStream, a Docker engine) as local
// processes, installing Debian's packages when they are missing. Each start function returns
// { url, stop } so callers can tear down exactly what they started.
import { mkdirSync, existsSync, chownSync, openSync } from "node:fs";
import { request } from "node:http";
import { createConnection } from "node:net";
import {
  commandExists,
  ensureDebianPackages,
  isRoot,
  log,
  output,
  postgresBinDir,
  run,
  startProcess,
  waitFor,
} from "./system.mjs";

function postgresUserIds() {
  return {
    uid: Number(output("id", ["-u", "postgres"]).trim()),
    gid: Number(output("id", ["-g", "postgres"]).trim()),
  };
}

/** Runs a Postgres binary as the `postgres` user when we are root (initdb refuses root). */
function runPostgresTool(bin, args) {
  if (isRoot) run("runuser", ["-u", "postgres", "--", bin, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  else run(bin, args, { stdio: ["ignore", "ignore", "inherit"] });
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

/**
 * A private Postgres cluster in `dataDir` on 127.0.0.1:`port` with trust auth for the
 * `postgres` user. Reuses an existing cluster in that directory.
 */
export async function startPostgres({ dataDir, port, database = "optio" }) {
  ensureDebianPackages([{ name: "postgresql", binary: () => postgresBinDir() !== undefined }]);
  const bin = postgresBinDir();
  mkdirSync(dataDir, { recursive: true });
  if (isRoot) {
    const { uid, gid } = postgresUserIds();
    chownSync(dataDir, uid, gid);
  }
  if (!existsSync(`${dataDir}/PG_VERSION`)) {
    log(`initialising Postgres in ${dataDir}`);
    runPostgresTool(`${bin}/initdb`, ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  }
  const options = `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on`;
  runPostgresTool(`${bin}/pg_ctl`, ["-D", dataDir, "-o", options, "-l", `${dataDir}/server.log`, "-w", "start"]);
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const exists = output("psql", [adminUrl, "-tAc", `SELECT 1 FROM pg_database WHERE datname='${database}'`]).trim();
  if (exists !== "1") output("psql", [adminUrl, "-c", `CREATE DATABASE "${database}"`]);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/${database}`,
    stop: () => runPostgresTool(`${bin}/pg_ctl`, ["-D", dataDir, "-m", "fast", "-w", "stop"]),
  };
}

/** nats-server with JetStream, storing in `dataDir`, bound to 127.0.0.1. */
export async function startNats({ dataDir, port, monitorPort, logFile }) {
  ensureDebianPackages([{ name: "nats-server", binary: () => commandExists("nats-server") }]);
  mkdirSync(dataDir, { recursive: true });
  const out = openSync(logFile, "a");
  const child = startProcess(
    "nats-server",
    ["-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-js", "-sd", dataDir],
    { stdio: ["ignore", out, out] },
  );
  await waitFor("NATS", () => tcpAnswers(port), 15_000);
  return { url: `nats://127.0.0.1:${port}`, stop: () => stopChild(child), child };
}

export function stopChild(child, signal = "SIGTERM") {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

function dockerPing(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Makes sure a Docker engine answers on the default socket, starting Debian's dockerd when none
 * does. Returns stop() that stops only an engine we started.
 */
export async function ensureDocker({ logFile }) {
  const socketPath = "/var/run/docker.sock";
  if (await dockerPing(socketPath)) return { socketPath, stop: async () => {} };
  ensureDebianPackages([{ name: "docker.io", binary: () => commandExists("dockerd") }]);
  log("starting a Docker engine (dockerd)");
  const out = openSync(logFile, "a");
  const child = startProcess(isRoot ? "dockerd" : "sudo", isRoot ? [] : ["dockerd"], { stdio: ["ignore", out, out] });
  await waitFor("the Docker engine", () => dockerPing(socketPath), 60_000);
  return { socketPath, stop: () => stopChild(child), child };
}
