// Applies prisma/migrations/<name>/migration.sql in name order to DATABASE_URL: a small stand-in for
// `prisma migrate deploy`, whose native schema engine cannot be downloaded here. It keeps Prisma's
// own `_prisma_migrations` history (same table, sha256 checksums, same advisory lock), so images
// that do have the engine can switch to `prisma migrate deploy`/`status` on the same database.
//
// usage: DATABASE_URL=postgresql://... tsx services/api/scripts/migrate.ts [migrations-dir]
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";

const PRISMA_ADVISORY_LOCK = 72707369; // the key Prisma's schema engine takes while migrating

interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) throw new Error(`migrations directory ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

async function ensureHistoryTable(client: Client): Promise<void> {
  // Prisma's own DDL for the table, so its tools recognise the history.
  await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`);
}

/** Refuses to go on when the history and the files disagree: a half-applied or edited migration. */
function checkHistory(history: HistoryRow[], files: MigrationFile[]): Set<string> {
  const unfinished = history.filter((row) => row.finished_at === null);
  if (unfinished.length > 0) {
    const names = unfinished.map((row) => row.migration_name).join(", ");
    throw new Error(`the database has unfinished migration(s) ${names}: resolve them before migrating`);
  }
  const byName = new Map(files.map((file) => [file.name, file]));
  const problems: string[] = [];
  for (const row of history) {
    const file = byName.get(row.migration_name);
    if (!file) console.warn(`warning: ${row.migration_name} is applied but has no migration.sql here`);
    else if (file.checksum !== row.checksum) problems.push(row.migration_name);
  }
  if (problems.length > 0) {
    throw new Error(
      `migration(s) ${problems.join(", ")} were edited after being applied to this database; ` +
        "add a new migration instead (for a throw-away dev database: stop it and delete .optio/pg)",
    );
  }
  return new Set(history.map((row) => row.migration_name));
}

async function applyOne(client: Client, file: MigrationFile): Promise<void> {
  // One transaction per file: the migration and its history row commit together or not at all.
  await client.query("BEGIN");
  try {
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 0)`,
      [randomUUID(), file.checksum, file.name],
    );
    await client.query(file.sql); // no parameters: the simple-query protocol runs a multi-statement script
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE migration_name = $1`,
      [file.name],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${file.name} failed and was rolled back: ${detail}`);
  }
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set");
  const dir = path.resolve(process.argv[2] ?? path.join(__dirname, "../../../prisma/migrations"));
  const files = readMigrations(dir);

  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK]);
    await ensureHistoryTable(client);
    const { rows } = await client.query<HistoryRow>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const applied = checkHistory(rows, files);
    const pending = files.filter((file) => !applied.has(file.name));
    for (const file of pending) {
      await applyOne(client, file);
      console.log(`applied ${file.name}`);
    }
    console.log(pending.length > 0 ? `${pending.length} migration(s) applied` : "no pending migrations");
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK]).catch(() => undefined);
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
