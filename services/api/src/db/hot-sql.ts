// Running the hottest transactions on the pg pool under Prisma's adapter, past the ORM's transaction
// machinery: the claim (dispatch/claim.store.ts) and the outbox publisher's batch
// (events/outbox-publisher.ts). A round trip to Postgres (a socket write, a wake-up of its backend
// and one of ours) is the dearest thing on these paths, so a transaction's BEGIN rides with its
// first statement and its COMMIT with its last: a claim is two round trips, not four.
// The statements are built with Prisma.sql, like every raw statement here.
import { createHash } from "node:crypto";
import pg from "pg";
import { Prisma } from "../generated/prisma/client";

/**
 * Values as Prisma's raw queries return them, so the same row mappers serve both paths: numeric as
 * Decimal and int8 as BigInt (pg's defaults are strings); the rest as pg parses it.
 */
const PRISMA_SHAPED: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === pg.types.builtins.NUMERIC) return (value: string) => new Prisma.Decimal(value);
    if (oid === pg.types.builtins.INT8) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig["getTypeParser"],
};

const statementNames = new Map<string, string>();

/**
 * A statement's name: its text's hash, so one statement shape is one name whatever its values. Each
 * connection prepares it once (planning the claim's statements costs as much as running them) and
 * Postgres may keep its plan.
 */
function nameOf(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `hot_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    statementNames.set(text, name); // a handful of shapes: hashed once each, not per query
  }
  return name;
}

/** The statements each pooled connection has prepared (SQL PREPARE lasts as long as its session). */
const preparedOn = new WeakMap<pg.PoolClient, Set<string>>();

/** One element of an array literal, quoted as Postgres's array input reads it. */
function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  return `"${scalarText(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Postgres refuses a NUL character in text (SQLSTATE 22021), and a simple-protocol message cannot
 * even carry one (its text ends at the first NUL): refused here as Postgres refuses it, so callers
 * see the same data exception (a 400, nothing written) on either path.
 */
class NulInText extends Error {
  readonly code = "22021";
  constructor() {
    super('invalid byte sequence for encoding "UTF8": 0x00');
  }
}

function scalarText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") {
    if (value.includes("\u0000")) throw new NulInText();
    return value;
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  // Nothing else is bound on these paths: refuse rather than guess a representation.
  throw new TypeError(`hot-sql cannot bind a ${typeof value} value`);
}

/**
 * A value as an SQL literal for EXECUTE, which the simple protocol needs (it has no parameters):
 * the text pg would send as a parameter, quoted by pg's escapeLiteral. Postgres casts it to the
 * parameter's type, as it would a bound value.
 */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  const text = Array.isArray(value) ? `{${value.map(arrayElement).join(",")}}` : scalarText(value);
  return pg.escapeLiteral(text);
}

/** A transaction of inTransaction(). */
export interface HotTx {
  /** Runs a statement of the transaction (the first one carries the BEGIN). */
  query<R extends Record<string, unknown>>(statement: Prisma.Sql): Promise<R[]>;
  /** Runs the transaction's last statement and commits in the same round trip. */
  commitWith<R extends Record<string, unknown>>(statement: Prisma.Sql): Promise<R[]>;
  /** Runs the transaction's last statements in order and commits, all in one round trip; each one's rows. */
  commitWithAll(statements: readonly Prisma.Sql[]): Promise<Record<string, unknown>[][]>;
}

/**
 * Runs `work` in one transaction on a pooled connection; a transaction `work` did not end with
 * commitWith() is committed after it. JIT is off for it: the planner's cost estimates of the
 * claim's statements cross jit_above_cost, and compiling them costs far more (tens of ms) than
 * running them. Its statements run their generic plan: Postgres's plan cache otherwise re-plans the
 * claim's pick on every call (its generic plan's estimate looks dearer), and planning it costs
 * twice as much as running it (0.55 against 0.27 ms), and the generic plan runs as fast (measured
 * on 10k and 100k queued tasks). waitForFlush: false commits without waiting for the WAL flush, for a transaction
 * whose loss in a crash is harmless (see OutboxPublisher).
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (tx: HotTx) => Promise<T>,
  options: { waitForFlush?: boolean } = {},
): Promise<T> {
  const client = await pool.connect();
  let failed: Error | undefined;
  // A connection lost while checked out (Postgres restarted) emits here, not on the pool: without
  // a listener that event would crash the process. The query in flight fails on its own.
  const onError = (error: Error) => (failed = error);
  client.on("error", onError);
  const begin = ["BEGIN", "SET LOCAL jit = off", "SET LOCAL plan_cache_mode = force_generic_plan"];
  if (options.waitForFlush === false) begin.push("SET LOCAL synchronous_commit = off");
  // Where the transaction is: nothing sent yet, BEGIN sent, or committed by commitWith().
  let state = "idle" as "idle" | "open" | "committed";

  /** Sends the statements as one simple-protocol message; each one's rows, in order. */
  const run = async (statements: readonly Prisma.Sql[], commit: boolean) => {
    if (state === "committed") throw new Error("hot-sql: this transaction has already committed");
    // Values are turned into literals first: one may be refused before anything is sent.
    const calls = statements.map((statement) => {
      const args = statement.values.map(literal).join(", ");
      return { name: nameOf(statement.text), text: statement.text, args };
    });
    const parts = state === "idle" ? [...begin] : [];
    state = "open";
    let prepared = preparedOn.get(client);
    if (!prepared) preparedOn.set(client, (prepared = new Set()));
    const preparing = new Set<string>();
    const at: number[] = []; // where each statement's EXECUTE is among the message's results
    for (const call of calls) {
      if (!prepared.has(call.name) && !preparing.has(call.name)) {
        parts.push(`PREPARE ${call.name} AS ${call.text}`);
        preparing.add(call.name);
      }
      at.push(parts.length);
      parts.push(call.args ? `EXECUTE ${call.name}(${call.args})` : `EXECUTE ${call.name}`);
    }
    if (commit) parts.push("COMMIT");
    // One message: Postgres runs its statements in order, each with a fresh snapshot.
    const results = (await client.query({ text: parts.join(";\n"), types: PRISMA_SHAPED })) as unknown;
    for (const name of preparing) prepared.add(name);
    if (commit) state = "committed";
    const all = Array.isArray(results) ? (results as pg.QueryResult[]) : [results as pg.QueryResult];
    return at.map((index) => all[index]!.rows as Record<string, unknown>[]);
  };
  const tx: HotTx = {
    query: async <R extends Record<string, unknown>>(statement: Prisma.Sql) =>
      (await run([statement], false))[0] as R[],
    commitWith: async <R extends Record<string, unknown>>(statement: Prisma.Sql) =>
      (await run([statement], true))[0] as R[],
    commitWithAll: (statements) => run(statements, true),
  };

  try {
    const result = await work(tx);
    if (state === "open") await client.query("COMMIT");
    return result;
  } catch (error) {
    failed ??= error instanceof Error ? error : new Error(String(error));
    if (state === "open") await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.off("error", onError);
    // After any failure the connection is dropped, not reused: which of the message's statements
    // ran (its PREPARE included) is unknown, and failures here are rare enough that a new
    // connection costs nothing that matters.
    client.release(failed);
  }
}
