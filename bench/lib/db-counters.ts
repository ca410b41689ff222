// Postgres work per request, from the server's own counters: statements (pg_stat_statements, BEGIN,
// SET and COMMIT included) and committed transactions (xact_commit). A statement costs at most one
// round trip: the hot path sends several in one message (db/hot-sql.ts), so the statement count is
// an upper bound of the round trips.
import pg from "pg";

export type DbCounters = { statements: number; commits: number };

export class DbMeter {
  private constructor(
    private readonly admin: pg.Client,
    private readonly database: string,
    private readonly hasStatements: boolean,
  ) {}

  /** Connects to the admin database; counts the statements of `database` (when the module is loaded). */
  static async open(adminUrl: string, database: string): Promise<DbMeter> {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    admin.on("error", () => {}); // cut when the benchmark stops Postgres
    const hasStatements = await admin
      .query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
      .then(() => admin.query("SELECT pg_stat_statements_reset()"))
      .then(
        () => true,
        () => false, // not preloaded (an external DATABASE_URL): transactions only
      );
    return new DbMeter(admin, database, hasStatements);
  }

  async read(): Promise<DbCounters> {
    // The cumulative statistics are flushed by each backend within a second of its last commit.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const { rows } = await this.admin.query<{ statements: string | null; commits: string }>(
      `SELECT ${
        this.hasStatements
          ? `(SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
               WHERE d.datname = $1)`
          : "NULL"
      } AS statements,
              (SELECT xact_commit FROM pg_stat_database WHERE datname = $1) AS commits`,
      [this.database],
    );
    return { statements: Number(rows[0]!.statements ?? NaN), commits: Number(rows[0]!.commits) };
  }

  /** The statements of the database run most often since `reset()`, as printable lines. */
  async top(limit = 8): Promise<string[]> {
    if (!this.hasStatements) return [];
    const { rows } = await this.admin.query<{ calls: string; query: string }>(
      `SELECT calls, regexp_replace(query, '\\s+', ' ', 'g') AS query
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = $1 ORDER BY calls DESC LIMIT $2`,
      [this.database, limit],
    );
    return rows.map((row) => `${row.calls.padStart(7)}  ${row.query.slice(0, 110)}`);
  }

  async reset(): Promise<void> {
    if (this.hasStatements) await this.admin.query("SELECT pg_stat_statements_reset()");
  }

  /** Rows in `table` of the measured database. */
  async count(databaseUrl: string, table: string): Promise<number> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      return Number(rows[0]!.n);
    } finally {
      await client.end();
    }
  }

  close(): Promise<void> {
    return this.admin.end();
  }
}

/** "1.03 statements, 1.00 commits per task" for the counters' difference over `tasks` new rows. */
export function perTask(before: DbCounters, after: DbCounters, tasks: number): string {
  const per = (value: number) => (tasks > 0 ? (value / tasks).toFixed(2) : "n/a");
  const statements = after.statements - before.statements;
  return `${Number.isNaN(statements) ? "n/a" : per(statements)} statements (≥ round trips), ${per(
    after.commits - before.commits,
  )} commits per created task`;
}
