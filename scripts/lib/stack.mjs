// The pieces `npm start` and `npm test` share: an ordered teardown, signal handling, the
// infrastructure (Postgres, NATS, Docker engine) honouring DATABASE_URL / NATS_URL / DOCKER_HOST,
// and the migration step.
import path from "node:path";
import { repoRoot } from "./bootstrap.mjs";
import { ensureDocker, startNats, startPostgres } from "./services.mjs";
import { log, run } from "./system.mjs";

/**
 * Stop steps, run once, newest first. `track()` a start still in progress: the teardown waits for
 * it, so a Ctrl-C during start-up cannot leave behind something that finished starting later.
 */
export class Teardown {
  #steps = [];
  #pending = new Set();
  #running;
  #done = false;

  add(name, stop) {
    if (this.#done) return void this.#runStep({ name, stop });
    this.#steps.push({ name, stop });
  }

  track(promise) {
    this.#pending.add(promise);
    const forget = () => this.#pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  get started() {
    return this.#running !== undefined;
  }

  /** Throws when the teardown began (a signal arrived): start-up code calls it between steps. */
  assertRunning() {
    if (this.started) throw new Error("interrupted");
  }

  run() {
    this.#running ??= (async () => {
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
      for (let step = this.#steps.pop(); step; step = this.#steps.pop()) await this.#runStep(step);
      this.#done = true;
    })();
    return this.#running;
  }

  async #runStep({ name, stop }) {
    try {
      await stop();
    } catch (error) {
      log(`stopping ${name} failed: ${error.message}`);
    }
  }
}

/** On SIGINT/SIGTERM/SIGHUP: tear down, then exit 128+signal. A second signal exits at once. */
export function exitOnSignals(teardown, before = () => {}) {
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const [signal, code] of Object.entries(codes)) {
    process.on(signal, () => {
      if (teardown.started) {
        log(`${signal} again: exiting without finishing the teardown`);
        process.exit(code);
      }
      log(`${signal}: stopping`);
      before();
      teardown.run().finally(() => process.exit(code));
    });
  }
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Starts (or adopts from the environment) Postgres, NATS with JetStream and a Docker engine, in
 * parallel. `dirs` gives { pg, nats, logs }; `ports` gives { pg, nats, natsMonitor }. `role` is
 * the Postgres login the services use ({ name, password, createdb }, see startPostgres);
 * `natsAuthorization` the NATS server's authorization block (credentials.mjs). Everything
 * started is registered on `teardown`; `onUnexpectedExit(name, code)` hears of a service dying later.
 */
export async function startInfra({
  dirs,
  ports,
  database,
  durable,
  role,
  natsAuthorization,
  teardown,
  onUnexpectedExit,
}) {
  const env = process.env;
  const watch = (name, child) =>
    child?.once("exit", (code, signal) => {
      if (!teardown.started) onUnexpectedExit?.(name, code ?? signal);
    });

  const postgres = env.DATABASE_URL
    ? Promise.resolve({
        url: env.DATABASE_URL,
        adminUrl: withDatabase(env.DATABASE_URL, "postgres"),
        roleUrl: (db) => withDatabase(env.DATABASE_URL, db),
        external: true,
      })
    : startPostgres({ dataDir: dirs.pg, port: ports.pg, database, durable, role }).then((pg) => {
        teardown.add("Postgres", pg.stop);
        return pg;
      });
  const nats = env.NATS_URL
    ? Promise.resolve({ url: env.NATS_URL, monitorPort: env.OPTIO_NATS_MONITOR_PORT, external: true })
    : startNats({
        dataDir: dirs.nats,
        port: ports.nats,
        monitorPort: ports.natsMonitor,
        logFile: path.join(dirs.logs, "nats.log"),
        authorization: natsAuthorization,
      }).then((n) => {
        teardown.add("NATS", n.stop);
        watch("nats-server", n.child);
        return n;
      });
  const docker = env.DOCKER_HOST
    ? Promise.resolve({ external: true })
    : ensureDocker({ logFile: path.join(dirs.logs, "dockerd.log") }).then((d) => {
        if (d.child) {
          teardown.add("the Docker engine", d.stop);
          watch("dockerd", d.child);
        }
        return d;
      });

  const results = await Promise.allSettled([postgres, nats, docker].map((p) => teardown.track(p)));
  const failure = results.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
  const [pg, n, d] = results.map((r) => r.value);
  teardown.assertRunning();
  return { postgres: pg, nats: n, docker: d };
}

/** Applies prisma/migrations to `databaseUrl` (services/api/scripts/migrate.ts). */
export function migrate(databaseUrl) {
  run(process.execPath, ["--import", "tsx", path.join(repoRoot, "services/api/scripts/migrate.ts")], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ["ignore", "ignore", "inherit"],
  });
}
