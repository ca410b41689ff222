#!/usr/bin/env node
// Docker Compose's secrets and NATS identities (docker-compose.yml):
//   node scripts/compose-config.mjs env [file]    # writes .env (default): the secret key and every
//                                                 # password, random; values already there are kept
//   node scripts/compose-config.mjs nats-auth [--prefix compose-runner] [--runners 2] [--out file]
//                                                 # the NATS identities file for those runner ids
// The identities file names no password: each is the NATS server's environment variable
// (OPTIO_NATS_API_PASSWORD, OPTIO_NATS_RUNNER_<n>_PASSWORD), which Compose fills from .env. The
// committed deploy/compose/nats-auth.conf is `nats-auth` with the defaults (a test keeps it so).
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { natsAuthorization, newPassword } from "./lib/credentials.mjs";
import { log } from "./lib/system.mjs";

export const DEFAULT_PREFIX = "compose-runner";
export const DEFAULT_RUNNERS = 2;

/** The .env variables holding secrets, each with a fresh value. */
export function composeSecrets(runners = DEFAULT_RUNNERS) {
  return {
    OPTIO_SECRET_KEY: randomBytes(32).toString("base64"),
    OPTIO_COMPOSE_PG_PASSWORD: newPassword(),
    OPTIO_COMPOSE_DB_PASSWORD: newPassword(),
    OPTIO_NATS_API_PASSWORD: newPassword(),
    ...Object.fromEntries(
      Array.from({ length: runners }, (_, i) => [`OPTIO_NATS_RUNNER_${i + 1}_PASSWORD`, newPassword()]),
    ),
  };
}

/** The NATS identities of Compose's API and runners <prefix>-1 … <prefix>-<runners>. */
export function composeNatsAuthorization({ prefix = DEFAULT_PREFIX, runners = DEFAULT_RUNNERS } = {}) {
  return natsAuthorization({
    api: { env: "OPTIO_NATS_API_PASSWORD" },
    runners: Object.fromEntries(
      Array.from({ length: runners }, (_, i) => [
        `${prefix}-${i + 1}`,
        { env: `OPTIO_NATS_RUNNER_${i + 1}_PASSWORD` },
      ]),
    ),
  });
}

const HEADER =
  "# NATS identities for docker-compose.yml (node scripts/compose-config.mjs nats-auth):\n" +
  "# passwords are the server's environment variables, set from .env.\n";

function option(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === "env") {
    const file = path.resolve(args[0] ?? ".env");
    const existing = existsSync(file) ? readFileSync(file, "utf8") : "";
    const have = new Set(existing.split("\n").map((line) => line.split("=")[0]?.trim()));
    const missing = Object.entries(composeSecrets()).filter(([name]) => !have.has(name));
    const text = `${existing}${existing && !existing.endsWith("\n") ? "\n" : ""}${missing
      .map(([name, value]) => `${name}=${value}\n`)
      .join("")}`;
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
    log(`${file}: ${missing.length ? `added ${missing.map(([n]) => n).join(", ")}` : "nothing missing"}`);
  } else if (command === "nats-auth") {
    const runners = Number(option(args, "runners", DEFAULT_RUNNERS));
    if (!Number.isInteger(runners) || runners < 1) throw new Error("--runners must be 1 or more");
    const text = HEADER + (await composeNatsAuthorization({ prefix: option(args, "prefix"), runners }));
    const out = option(args, "out");
    if (out)
      writeFileSync(out, text, { mode: 0o644 }); // no secret in it; the server's user reads it
    else process.stdout.write(text);
  } else {
    throw new Error(
      "usage: node scripts/compose-config.mjs env [file] | nats-auth [--prefix P] [--runners N] [--out file]",
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  main().catch((error) => {
    console.error(`[optio] ${error.message}`);
    process.exit(1);
  });

export { HEADER as NATS_AUTH_HEADER };
