#!/usr/bin/env node
// Runs docker-compose.yml here (Debian's docker-compose 1.29, images built from the local Debian
// base) on free ports under a throw-away project, then sends a shell task through the API to a git
// daemon on 127.0.0.1 and waits for the pushed branch. Everything is torn down at the end
// (containers and volumes of the project; images are kept and reused while the sources are unchanged).
//   node scripts/compose-smoke.mjs [--keep]
// Not part of `npm test`: the first run builds five images (minutes on a loaded machine).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTestImage, imageId, BASE_IMAGE } from "./build-agent-image.mjs";
import { buildServiceImages, builtFrom, sourceHash, TARGETS, VERSION } from "./build-service-images.mjs";
import { composeNatsAuthorization, composeSecrets, NATS_AUTH_HEADER } from "./compose-config.mjs";
import { commandExists, ensureDebianPackages, freePort, log, run, waitFor } from "./lib/system.mjs";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const keep = process.argv.includes("--keep");
const timed = async (what, fn) => {
  const t0 = Date.now();
  const result = await fn();
  log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return result;
};

async function ensureImages(env) {
  // Rebuilt whenever the sources changed: a smoke run must prove the code in this checkout.
  const hash = sourceHash();
  if (TARGETS.some((target) => builtFrom(`optio/${target}:${VERSION}`) !== hash))
    await timed("service images built", () => buildServiceImages());
  if (!imageId("optio/postgres:local") || !imageId("optio/nats:local"))
    await timed("postgres and nats images built", () =>
      run("docker-compose", ["build", "postgres", "nats"], {
        cwd: repoRoot,
        env: { ...env, DOCKER_BUILDKIT: "0" },
      }),
    );
  return timed("test agent image ready", () => ensureTestImage());
}

function gitRepo(root) {
  const bare = path.join(root, "demo.git");
  const work = path.join(root, "seed");
  const git = (args, cwd) => execFileSync("git", args, { cwd, stdio: "ignore" });
  git(["init", "-q", "--bare", "-b", "main", bare]);
  git(["init", "-q", "-b", "main", work]);
  git(
    [
      "-c",
      "user.name=seed",
      "-c",
      "user.email=seed@example.com",
      "commit",
      "-q",
      "--allow-empty",
      "-m",
      "seed",
    ],
    work,
  );
  git(["push", "-q", bare, "main"], work);
  return bare;
}

async function api(base, method, route, token, body) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function main() {
  ensureDebianPackages([{ name: "docker-compose", binary: () => commandExists("docker-compose") }]);
  const [pgPort, natsPort, apiPort, gitPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const project = `optio-smoke-${process.pid}`;
  const env = {
    ...process.env,
    OPTIO_BASE_IMAGE: process.env.OPTIO_BASE_IMAGE ?? BASE_IMAGE,
    OPTIO_VERSION: VERSION,
    OPTIO_COMPOSE_PG_PORT: String(pgPort),
    OPTIO_COMPOSE_NATS_PORT: String(natsPort),
    OPTIO_COMPOSE_API_PORT: String(apiPort),
    OPTIO_COMPOSE_RUNNER_PREFIX: project,
    OPTIO_ALLOWED_REPO_HOSTS: "127.0.0.1",
    OPTIO_RUNNER_NETWORK: "host", // the run containers reach the git daemon on 127.0.0.1
    OPTIO_RUNNER_PULL: "never",
    // A throw-away stack: a fresh key and passwords, as `compose-config.mjs env` makes them.
    ...composeSecrets(),
  };
  env.OPTIO_DEFAULT_IMAGE = await ensureImages(env);

  const tmp = mkdtempSync(path.join(os.tmpdir(), "optio-compose-smoke-"));
  // Runner ids <project>-1/2: the NATS identities file for them (no secret in it).
  env.OPTIO_COMPOSE_NATS_AUTH = path.join(tmp, "nats-auth.conf");
  writeFileSync(
    env.OPTIO_COMPOSE_NATS_AUTH,
    NATS_AUTH_HEADER + (await composeNatsAuthorization({ prefix: project })),
    { mode: 0o644 },
  );
  const bare = gitRepo(tmp);
  const daemon = spawn(
    "git",
    [
      "daemon",
      "--reuseaddr",
      "--listen=127.0.0.1",
      `--port=${gitPort}`,
      `--base-path=${tmp}`,
      "--export-all",
      "--enable=receive-pack",
      tmp,
    ],
    { stdio: "ignore" },
  );
  const compose = (args, options = {}) =>
    run("docker-compose", ["-p", project, ...args], { cwd: repoRoot, env, ...options });
  try {
    await timed("compose up (postgres, nats, migrate, api, 2 runners)", async () => {
      compose(["up", "-d", "--no-build"]);
      await waitFor(
        "the API's health",
        async () => (await fetch(`http://127.0.0.1:${apiPort}/api/health`)).ok,
        180_000,
      );
    });
    const base = `http://127.0.0.1:${apiPort}`;
    const { token } = await api(base, "POST", "/api/setup/complete", null, {
      email: "admin@example.com",
      password: `smoke-${process.pid}-${Date.now()}-long`,
    });
    await waitFor(
      "two runners",
      async () => (await api(base, "GET", "/api/runners", token)).runners?.length >= 2,
      60_000,
    );
    const { task } = await timed("task created", () =>
      api(base, "POST", "/api/tasks", token, {
        title: "Compose smoke",
        prompt: "echo hello from compose > smoke.txt",
        repoUrl: `git://127.0.0.1:${gitPort}/demo.git`,
        agentType: "shell",
      }),
    );
    let state;
    await timed("task ran and pushed", () =>
      waitFor(
        "the task to finish",
        async () => {
          state = (await api(base, "GET", `/api/tasks/${task.id}`, token)).task.state;
          return !["queued", "provisioning", "running", "pending"].includes(state);
        },
        180_000,
      ),
    );
    const branches = execFileSync("git", ["for-each-ref", "--format=%(refname:short)", "refs/heads/"], {
      cwd: bare,
      encoding: "utf8",
    })
      .trim()
      .split("\n");
    const branch = branches.find((b) => b !== "main");
    const content = branch
      ? execFileSync("git", ["show", `${branch}:smoke.txt`], { cwd: bare, encoding: "utf8" })
      : "";
    log(`task ${task.id}: state ${state}; branches ${branches.join(", ")}`);
    if (!branch || content !== "hello from compose\n")
      throw new Error(`no pushed branch with smoke.txt (state ${state})`);
    log(`compose smoke passed: ${branch} holds smoke.txt`);
  } catch (error) {
    spawn("docker-compose", ["-p", project, "logs", "--tail=40"], { cwd: repoRoot, env, stdio: "inherit" });
    await new Promise((r) => setTimeout(r, 3000));
    throw error;
  } finally {
    daemon.kill();
    if (!keep) compose(["down", "-v", "--remove-orphans"], { stdio: "ignore" });
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`[optio] compose smoke failed: ${error.message}`);
  process.exit(1);
});
