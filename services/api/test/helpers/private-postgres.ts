// A Postgres cluster of the test's own (durable: fsync on), migrated, for tests that stop the
// database under load. Uses the binaries of the cluster `npm test` started (OPTIO_TEST_PG_BIN).
// Set up as everywhere: TCP clients need a password; the API's role owns its database and is no
// superuser (the superuser only on the cluster's socket).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./private-nats";
import { requireEnv } from "./test-context";

const isRoot = process.getuid?.() === 0;
const repoRoot = path.resolve(__dirname, "../../../..");

export type PrivatePostgres = {
  url: string;
  /** Kills the server at once (`pg_ctl -m immediate`: like a crash, no shutdown checkpoint). */
  kill: () => void;
  start: () => void;
  /** Stops it and removes its files. */
  remove: () => void;
};

function postgresTool(bin: string, args: string[]): void {
  const [command, full] = isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  const result = spawnSync(command, full, { cwd: "/", stdio: ["ignore", "ignore", "pipe"] });
  if (result.status !== 0) throw new Error(`${path.basename(bin)} ${args[0]}: ${result.stderr.toString()}`);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = requireEnv("OPTIO_TEST_PG_BIN");
  const port = await freePort();
  const root = mkdtempSync(path.join(tmpdir(), "optio-test-pg-"));
  chmodSync(root, 0o755);
  const dataDir = path.join(root, "data");
  if (isRoot) {
    const ids = (flag: string) => Number(spawnSync("id", [flag, "postgres"]).stdout.toString().trim());
    chownSync(root, ids("-u"), ids("-g"));
  }
  postgresTool(`${bin}/initdb`, [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
  ]);
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c max_connections=100`;
  const start = () =>
    postgresTool(`${bin}/pg_ctl`, [
      "start",
      "-D",
      dataDir,
      "-o",
      options,
      "-l",
      `${root}/log`,
      "-w",
      "-t",
      "60",
    ]);
  const kill = () => postgresTool(`${bin}/pg_ctl`, ["stop", "-D", dataDir, "-m", "immediate", "-w"]);
  start();
  const password = randomBytes(24).toString("base64url");
  const sql = [
    `CREATE ROLE optio_outage LOGIN NOSUPERUSER PASSWORD '${password}'`,
    "CREATE DATABASE optio_outage OWNER optio_outage",
  ];
  for (const statement of sql) {
    const psql = spawnSync(`${bin}/psql`, ["-X", "-q", "-h", root, "-p", String(port), "-U", "postgres"], {
      input: statement,
      stdio: ["pipe", "ignore", "pipe"],
    });
    if (psql.status !== 0) throw new Error(`psql: ${psql.stderr.toString()}`);
  }
  const url = `postgresql://optio_outage:${password}@127.0.0.1:${port}/optio_outage`;
  const migrated = spawnSync(process.execPath, ["--import", "tsx", "services/api/scripts/migrate.ts"], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (migrated.status !== 0) throw new Error(`migrate: ${migrated.stderr.toString()}`);
  return {
    url,
    kill,
    start,
    remove: () => {
      try {
        kill();
      } catch {
        // already stopped
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
