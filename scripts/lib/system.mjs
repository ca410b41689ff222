// Small helpers around child processes and the host, used by the start and test commands.
// Plain Node (no dependencies): these scripts run before `pnpm install` has happened.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { request } from "node:http";
import { createServer } from "node:net";
import { existsSync, readdirSync } from "node:fs";

export const isRoot = process.getuid?.() === 0;

export function log(message) {
  process.stdout.write(`[optio] ${message}\n`);
}

/** Runs a command to completion, inheriting stdio; throws with the command line on failure. */
export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  }
}

/** Like run(), without blocking the event loop (other services start meanwhile). */
export function runAsync(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", ...options });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code ?? signal}`));
    });
  });
}

export function commandExists(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Runs as root directly, through sudo otherwise. */
export function runPrivileged(cmd, args, options = {}) {
  if (isRoot) return run(cmd, args, options);
  return run("sudo", ["-E", cmd, ...args], options);
}

let aptUpdated = false;
/** Installs Debian packages that are missing; `binary` tells whether a package is already there. */
export function ensureDebianPackages(packages) {
  const missing = packages.filter(({ binary }) => !binary());
  if (missing.length === 0) return;
  const names = missing.map(({ name }) => name);
  log(`installing Debian packages: ${names.join(", ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    runPrivileged("apt-get", ["update", "-qq"], { env });
    aptUpdated = true;
  }
  runPrivileged("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...names], { env });
}

/** The newest installed PostgreSQL server's bin directory, or undefined. */
export function postgresBinDir() {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(`${root}/${v}/bin/initdb`))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? `${root}/${versions[0]}/bin` : undefined;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Thrown by a `waitFor` check to stop waiting at once (the thing being waited for died). */
export class ExitedError extends Error {}

/** Polls `check` until it returns truthy or the deadline passes. */
export async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof ExitedError) throw error;
      // otherwise: not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Starts a long-running child process; `detached` puts it in its own process group (no terminal signals). */
export function startProcess(cmd, args, { env, stdio = "inherit", cwd, detached = false } = {}) {
  return spawn(cmd, args, { env: { ...process.env, ...env }, stdio, cwd, detached });
}

export function output(cmd, args, options = {}) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });
}

/** GET with a 2 s timeout: true when it answers 200. `target`: { host, port } or { socketPath }. */
export function httpOk(target, path) {
  return new Promise((resolve) => {
    const req = request({ ...target, path, timeout: 2000 }, (res) => {
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
