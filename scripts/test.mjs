// `npm test [-- jest args]`: a throw-away stack (Postgres, NATS JetStream, Docker engine) on free
// ports in temporary directories, a migrated template database, then jest. Everything started here
// is stopped and the directories removed, also on failure and Ctrl-C; exits with jest's code.
// Postgres and NATS want credentials as everywhere else: the tests connect to Postgres as
// `optio_test` (not a superuser; CREATEDB, to clone the template per test file) and to NATS as the
// API (optio-api), with passwords made for this run.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bootstrap, repoRoot } from "./lib/bootstrap.mjs";
import { natsAuthorization, natsPermissions, newPassword } from "./lib/credentials.mjs";
import { createDatabase } from "./lib/services.mjs";
import { exitOnSignals, migrate, startInfra, Teardown } from "./lib/stack.mjs";
import { freePort, isRoot, log } from "./lib/system.mjs";

const TEMPLATE_DB = "optio_template";

function runJest(env, args) {
  const jsonFile = process.env.OPTIO_JEST_JSON;
  const jsonArgs = jsonFile ? ["--json", `--outputFile=${path.resolve(jsonFile)}`] : [];
  const childEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL; // tests make their own databases from the template
  const jestBin = path.join(repoRoot, "node_modules/jest/bin/jest.js");
  return spawn(process.execPath, [jestBin, ...jsonArgs, ...args], {
    cwd: repoRoot,
    env: childEnv,
    stdio: "inherit",
  });
}

async function main() {
  const started = Date.now();
  bootstrap();
  const teardown = new Teardown();
  let jest;
  exitOnSignals(teardown, () => jest?.kill("SIGTERM"));

  const tmp = mkdtempSync(path.join(os.tmpdir(), "optio-test-"));
  teardown.add("the temporary directory", () => rmSync(tmp, { recursive: true, force: true }));
  if (isRoot) chmodSync(tmp, 0o755); // the postgres user must reach tmp/pg
  const dirs = { pg: path.join(tmp, "pg"), nats: path.join(tmp, "nats"), logs: path.join(tmp, "logs") };
  mkdirSync(dirs.logs);

  let dead;
  try {
    const ports = { pg: await freePort(), nats: await freePort(), natsMonitor: await freePort() };
    const role = { name: "optio_test", password: newPassword(), createdb: true };
    const natsApi = { user: (await natsPermissions()).API_NATS_USER, password: newPassword() };
    const { postgres, nats } = await startInfra({
      dirs,
      ports,
      database: null,
      durable: false,
      role,
      natsAuthorization: await natsAuthorization({ api: natsApi.password }),
      teardown,
      onUnexpectedExit: (name, code) => {
        dead = `${name} exited (${code}) during the tests`;
        log(dead);
        jest?.kill("SIGTERM");
      },
    });
    const templateUrl = postgres.roleUrl(TEMPLATE_DB);
    createDatabase(postgres.adminUrl, TEMPLATE_DB, {
      recreate: true,
      owner: postgres.external ? undefined : role.name,
    });
    migrate(templateUrl);
    teardown.assertRunning();
    log(`test stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    jest = runJest(
      {
        NODE_ENV: "test",
        OPTIO_TEST_TEMPLATE_DB_URL: templateUrl,
        // Creates and drops the per-file databases: the tests' own role, over TCP with its password.
        OPTIO_TEST_ADMIN_DB_URL: postgres.roleUrl("postgres"),
        NATS_URL: nats.url,
        ...(!nats.external && {
          OPTIO_TEST_NATS_USER: natsApi.user,
          OPTIO_TEST_NATS_PASSWORD: natsApi.password,
        }),
        // The stored-secrets key of this test run (tests that rotate keys make their own).
        OPTIO_SECRET_KEY: randomBytes(32).toString("base64"),
        OPTIO_TEST_NATS_MONITOR_PORT: nats.monitorPort === undefined ? "" : String(nats.monitorPort),
        OPTIO_TEST_PG_BIN: postgres.binDir ?? "",
        OPTIO_TEST_PG_DATA: postgres.dataDir ?? "",
      },
      process.argv.slice(2),
    );
    const code = await new Promise((resolve) =>
      jest.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))),
    );
    return dead ? 1 : code;
  } catch (error) {
    if (!teardown.started) log(`test stack failed: ${error.message}`);
    return 1;
  } finally {
    await teardown.run();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
