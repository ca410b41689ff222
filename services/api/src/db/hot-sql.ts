// Running the hottest transactions on the pg pool under Prisma's adapter, past the ORM's transaction
// machinery: the claim (dispatch/claim.store.ts) and the outbox publisher's batch
// (events/outbox-publisher.ts) are each BEGIN, their statements and COMMIT, with nothing in between.
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
 * A named statement: each connection parses it once, and Postgres may keep its plan (planning the
 * claim's statements costs as much as running them). The name is the text's hash, so one
 * statement shape is one name whatever its values.
 */
function prepared(statement: Prisma.Sql): { name: string; text: string; values: unknown[] } {
  const text = statement.text;
  let name = statementNames.get(text);
  if (!name) {
    name = `hot_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    statementNames.set(text, name); // a handful of shapes: hashed once each, not per query
  }
  return { name, text, values: statement.values };
}

/** A connection inside a transaction of inTransaction(). */
export interface HotTx {
  query<R extends Record<string, unknown>>(statement: Prisma.Sql): Promise<R[]>;
}

/**
 * Runs `work` in one transaction on a pooled connection. JIT is off for it: the planner's cost
 * estimates of the claim's statements cross jit_above_cost, and compiling them costs far more (tens
 * of ms) than running them.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (tx: HotTx) => Promise<T>,
  options: { waitForFlush?: boolean } = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A connection lost while checked out (Postgres restarted) emits here, not on the pool: without
  // a listener that event would crash the process. The query in flight fails on its own.
  const onError = (error: Error) => (broken = error);
  client.on("error", onError);
  try {
    // Simple protocol: one round trip. waitForFlush: false commits without waiting for the WAL
    // flush, for a transaction whose loss in a crash is harmless (see OutboxPublisher).
    const flush = options.waitForFlush === false ? "; SET LOCAL synchronous_commit = off" : "";
    await client.query(`BEGIN; SET LOCAL jit = off${flush}`);
    const tx: HotTx = {
      query: async <R extends Record<string, unknown>>(statement: Prisma.Sql) =>
        (await client.query<R>({ ...prepared(statement), types: PRISMA_SHAPED })).rows,
    };
    const result = await work(tx);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.off("error", onError);
    // A connection that failed or could not roll back is in an unknown state: destroy it.
    client.release(broken);
  }
}
