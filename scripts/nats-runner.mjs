#!/usr/bin/env node
// NATS identities of `npm start`'s runners beyond OPTIO_RUNNERS (a runner started by hand, or on
// another checkout pointed at this NATS):
//   node scripts/nats-runner.mjs add <runner-id>      # prints how to start that runner
//   node scripts/nats-runner.mjs remove <runner-id>
//   node scripts/nats-runner.mjs list
// The password goes to .optio/credentials/nats-runner-<id> (0600); .optio/nats/auth.conf is
// rewritten and a running `npm start` NATS reloads it (SIGHUP, as `nats-server --signal reload`
// does): no restart. The identity may use only its own subjects (@optio/contracts nats-permissions).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { bootstrap, repoRoot } from "./lib/bootstrap.mjs";
import {
  CredentialStore,
  localNatsAuthorization,
  natsPermissions,
  runnerCredential,
  storedRunnerIdentities,
} from "./lib/credentials.mjs";
import { log } from "./lib/system.mjs";

const dataDir = path.join(repoRoot, ".optio");
const natsDir = path.join(dataDir, "nats");

/** The pid of npm start's nats-server, when one runs (its pid file, and the process is nats-server). */
function runningNats() {
  const pidFile = path.join(natsDir, "nats.pid");
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "nats-server" ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function apply(store) {
  writeFileSync(path.join(natsDir, "auth.conf"), await localNatsAuthorization(store), { mode: 0o600 });
  const pid = runningNats();
  if (pid) {
    process.kill(pid, "SIGHUP");
    log(`NATS (pid ${pid}) reloads its identities`);
  } else log("no npm start NATS is running: the identities apply at its next start");
}

async function main() {
  const [command, runnerId] = process.argv.slice(2);
  bootstrap();
  const store = new CredentialStore(path.join(dataDir, "credentials"));
  const { runnerNatsUser: userOf } = await natsPermissions();
  const runnerNatsUser = (id) => {
    try {
      return userOf(id);
    } catch {
      throw new Error(`${JSON.stringify(id)} is not a runner id: lower-case letters, digits, '-' or '_'`);
    }
  };
  switch (command) {
    case "add": {
      const user = runnerNatsUser(runnerId ?? ""); // refuses an id that is not one subject token
      const file = store.file(runnerCredential(runnerId));
      store.ensure(runnerCredential(runnerId));
      await apply(store);
      log(`runner identity ${user}; start the runner with:`);
      log(
        `  NATS_URL=nats://127.0.0.1:${process.env.OPTIO_NATS_PORT ?? 42220} OPTIO_RUNNER_ID=${runnerId} ` +
          `NATS_PASSWORD_FILE=${file} node --import tsx services/runner/src/main.ts`,
      );
      return;
    }
    case "remove":
      runnerNatsUser(runnerId ?? "");
      store.remove(runnerCredential(runnerId));
      await apply(store);
      log(`runner identity runner-${runnerId} removed (its open connections end at the reload)`);
      return;
    case "list":
      for (const id of Object.keys(storedRunnerIdentities(store)))
        log(`${runnerNatsUser(id)} (runner id ${id})`);
      return;
    default:
      throw new Error("usage: node scripts/nats-runner.mjs add|remove <runner-id> | list");
  }
}

main().catch((error) => {
  console.error(`[optio] ${error.message}`);
  process.exit(1);
});
