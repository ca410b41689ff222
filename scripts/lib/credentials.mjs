// Generated passwords for the local stacks (`npm start` keeps them in .optio/credentials, mode
// 0600 in a 0700 directory; `npm test` makes fresh ones per run), and the NATS authorization block
// rendered from @optio/contracts (nats-permissions.ts, loaded through tsx), so the local servers
// get the same identities and permissions as every deployment. Never printed.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** 32 random bytes, base64url: safe in URLs, NATS config strings and SQL literals. */
export const newPassword = () => randomBytes(32).toString("base64url");

/** A directory of password files, one per identity (`<name>`, holding the password and a newline). */
export class CredentialStore {
  constructor(dir) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  file(name) {
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(name)) throw new Error(`not a credential name: ${name}`);
    return path.join(this.dir, name);
  }

  /** The password kept under `name`, made the first time. */
  ensure(name) {
    const file = this.file(name);
    if (existsSync(file)) return readFileSync(file, "utf8").trim();
    const password = newPassword();
    writeFileSync(file, `${password}\n`, { mode: 0o600, flag: "wx" });
    return password;
  }

  remove(name) {
    rmSync(this.file(name), { force: true });
  }

  names() {
    return readdirSync(this.dir).sort();
  }
}

let contracts;
/** @optio/contracts' nats-permissions module (TypeScript, through tsx's loader). */
export async function natsPermissions() {
  if (!contracts) {
    const { tsImport } = await import("tsx/esm/api");
    contracts = await tsImport("../../packages/contracts/src/nats-permissions.ts", import.meta.url);
  }
  return contracts;
}

/**
 * The `authorization` block for the API (`api`: its password), the runners (`runners`: id →
 * password) and tooling users with the API's rights (`tools`: user → password).
 */
export async function natsAuthorization({ api, runners = {}, tools = {} }) {
  const { natsAuthorizationConfig, optioNatsUsers } = await natsPermissions();
  return natsAuthorizationConfig(
    optioNatsUsers({
      api,
      runners: Object.entries(runners).map(([id, password]) => ({ id, password })),
      tools: Object.entries(tools).map(([user, password]) => ({ user, password })),
    }),
  );
}

const RUNNER_PREFIX = "nats-runner-";

/** The runner ids with a NATS identity in `store` (files nats-runner-<id>), with their passwords. */
export function storedRunnerIdentities(store) {
  return Object.fromEntries(
    store
      .names()
      .filter((name) => name.startsWith(RUNNER_PREFIX))
      .map((name) => [name.slice(RUNNER_PREFIX.length), store.ensure(name)]),
  );
}

/** The credential file name of a runner's NATS identity. */
export const runnerCredential = (runnerId) => `${RUNNER_PREFIX}${runnerId}`;

/**
 * `npm start`'s NATS identities: the API (`nats-api`) and every runner identity in `store` (those
 * of OPTIO_RUNNERS and any added with scripts/nats-runner.mjs), as an authorization block.
 */
export async function localNatsAuthorization(store) {
  return natsAuthorization({ api: store.ensure("nats-api"), runners: storedRunnerIdentities(store) });
}
