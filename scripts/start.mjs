// `npm start`: everything Optio needs on one machine. Postgres (.optio/pg), NATS JetStream
// (.optio/nats) and a Docker engine unless DATABASE_URL / NATS_URL / DOCKER_HOST point elsewhere,
// then migrations, the API and OPTIO_RUNNERS runners. Ctrl-C (or SIGTERM) stops what it started;
// if any part dies, everything stops and the exit code is non-zero.
// Sandbox: Postgres and NATS listen on 127.0.0.1 only and want credentials (generated once into
// .optio/credentials, mode 0600): Postgres the role `optio` (no superuser), NATS one identity for
// the API and one per runner (scripts/nats-runner.mjs adds more). Runs go to the Docker network
// optio-runs, a user-defined bridge: its containers cannot reach the host's loopback at all.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { bootstrap, repoRoot } from "./lib/bootstrap.mjs";
import { buildProdImage, imageId, PROD_IMAGE } from "./build-agent-image.mjs";
import { CredentialStore, localNatsAuthorization, runnerCredential } from "./lib/credentials.mjs";
import { ensureRunNetwork, stopChild } from "./lib/services.mjs";
import { ensureSecretKey } from "./lib/secret-key.mjs";
import { exitOnSignals, migrate, startInfra, Teardown } from "./lib/stack.mjs";
import { ExitedError, httpOk, log, startProcess, waitFor } from "./lib/system.mjs";

const env = process.env;
const dataDir = path.join(repoRoot, ".optio");
const settings = {
  apiPort: Number(env.OPTIO_API_PORT ?? 3000),
  apiHost: env.OPTIO_API_HOST ?? "127.0.0.1",
  runners: Number(env.OPTIO_RUNNERS ?? 1),
  // Not `host`: a container there shares the host's loopback (Postgres, NATS, the API).
  runNetwork: env.OPTIO_RUNNER_NETWORK ?? "optio-runs",
  // Non-default ports, so a system Postgres (5432/5433) or NATS (4222) can keep running.
  ports: {
    pg: Number(env.OPTIO_PG_PORT ?? 54320),
    nats: Number(env.OPTIO_NATS_PORT ?? 42220),
    natsMonitor: Number(env.OPTIO_NATS_MONITOR_PORT ?? 42221),
  },
};

const healthy = (port) => httpOk({ host: "127.0.0.1", port }, "/api/health");

const teardown = new Teardown();

async function main() {
  const started = Date.now();
  if (!Number.isInteger(settings.runners) || settings.runners < 0)
    throw new Error("OPTIO_RUNNERS must be 0 or more");
  if (env.OPTIO_RUNNER_ID && settings.runners > 1)
    throw new Error("OPTIO_RUNNER_ID names one runner: set OPTIO_RUNNERS=1");
  bootstrap();
  exitOnSignals(teardown);
  let failed = false;
  const fail = (why) => {
    if (teardown.started) return;
    failed = true;
    log(`${why}: stopping everything`);
    teardown.run().finally(() => process.exit(1));
  };

  const dirs = {
    pg: path.join(dataDir, "pg"),
    nats: path.join(dataDir, "nats"),
    logs: path.join(dataDir, "logs"),
  };
  mkdirSync(dirs.logs, { recursive: true });
  const credentials = new CredentialStore(path.join(dataDir, "credentials"));
  const runnerIds = Array.from(
    { length: settings.runners },
    (_, i) => env.OPTIO_RUNNER_ID ?? `runner-${i + 1}`,
  );
  for (const id of runnerIds) credentials.ensure(runnerCredential(id));
  const { postgres, nats } = await startInfra({
    dirs,
    ports: settings.ports,
    database: "optio",
    durable: true,
    role: { name: "optio", password: credentials.ensure("postgres-optio") },
    natsAuthorization: await localNatsAuthorization(credentials),
    teardown,
    onUnexpectedExit: (name, code) => fail(`${name} exited (${code})`),
  });
  // Migrations run as the role the API uses, which owns the database.
  migrate(postgres.url);
  teardown.assertRunning();
  if (settings.runners > 0) {
    if (settings.runNetwork === "host")
      log(
        "OPTIO_RUNNER_NETWORK=host: agents share this host's loopback (Postgres, NATS, the API); " +
          "they still hold no credential, but use it only for repositories you trust",
      );
    else if (!["bridge", "none"].includes(settings.runNetwork)) ensureRunNetwork(settings.runNetwork);
  }
  // Runners need an agent image; the default one is built once (a few minutes) and then reused.
  if (settings.runners > 0 && !env.OPTIO_DEFAULT_IMAGE && !env.DOCKER_HOST && !imageId(PROD_IMAGE)) {
    log(
      `building the agent image ${PROD_IMAGE} once (Debian base, Node 22, Claude Code, Codex: a few minutes)`,
    );
    await buildProdImage();
    teardown.assertRunning();
  }

  const common = {
    DATABASE_URL: postgres.url,
    NATS_URL: nats.url,
    OPTIO_API_PORT: String(settings.apiPort),
    OPTIO_API_HOST: settings.apiHost,
    // A bridged run cannot reach a git server on 127.0.0.1: local repositories need the host network.
    OPTIO_ALLOWED_REPO_HOSTS:
      env.OPTIO_ALLOWED_REPO_HOSTS ?? (settings.runNetwork === "host" ? "127.0.0.1,localhost" : "github.com"),
    OPTIO_RUNNER_NETWORK: settings.runNetwork,
  };
  // Each service reads its own password file (the user defaults to its identity); a NATS_URL of
  // the operator's comes with NATS_USER / NATS_PASSWORD(_FILE) of theirs.
  const natsPassword = (name) => (nats.external ? {} : { NATS_PASSWORD_FILE: credentials.file(name) });
  const children = [
    {
      name: "api",
      file: "services/api/src/main.ts",
      // The memory settings the API has in its image (see the script).
      launcher: "services/api/run-node.sh",
      // Only the API holds the key; runners receive secrets in claim replies.
      env: { OPTIO_SECRET_KEY: ensureSecretKey(dataDir), ...natsPassword("nats-api") },
    },
    ...runnerIds.map((id, i) => ({
      name: `runner-${i + 1}`,
      file: "services/runner/src/main.ts",
      env: {
        OPTIO_RUNNER_ID: id,
        OPTIO_RUNNER_METRICS_PORT: String(Number(env.OPTIO_RUNNER_METRICS_PORT ?? 9465) + i),
        ...natsPassword(runnerCredential(id)),
      },
    })),
  ];
  let api;
  for (const spec of children) {
    // One node process per service (tsx as a loader, not its CLI wrapper; a launcher execs node):
    // signals reach it directly.
    const node = ["--import", "tsx", spec.file];
    const [command, args] = spec.launcher
      ? ["sh", [spec.launcher, process.execPath, ...node]]
      : [process.execPath, node];
    const child = startProcess(command, args, {
      cwd: repoRoot,
      env: { ...common, ...spec.env },
      detached: true, // Ctrl-C reaches us only; we stop the services in order
    });
    if (spec.name === "api") api = child;
    teardown.add(spec.name, () => stopChild(child, { graceMs: 35_000 }));
    child.once("exit", (code, signal) => fail(`${spec.name} exited (${code ?? signal})`));
  }

  await waitFor(
    "GET /api/health",
    async () => {
      if (api.exitCode !== null) throw new ExitedError("the API exited during start-up");
      return healthy(settings.apiPort);
    },
    90_000,
  );
  if (failed) return;
  const url = `http://${settings.apiHost === "0.0.0.0" ? "127.0.0.1" : settings.apiHost}:${settings.apiPort}`;
  const where = [
    postgres.external ? "Postgres from DATABASE_URL" : `Postgres :${settings.ports.pg}`,
    nats.external ? "NATS from NATS_URL" : `NATS :${settings.ports.nats}`,
    `${settings.runners} runner(s)`,
  ];
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${url} (${where.join(", ")})`);
  log("first admin, once:");
  log(
    `  curl -X POST ${url}/api/setup/complete -H 'content-type: application/json' ` +
      `-d '{"email":"admin@example.com","password":"choose-a-long-password"}'`,
  );
  log("Ctrl-C stops everything");
}

main().catch((error) => {
  if (teardown.started) return; // a signal or a dying service is already stopping everything
  log(`start failed: ${error.message}`);
  teardown.run().finally(() => process.exit(1));
});
