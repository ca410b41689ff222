import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/prisma/client";

export { PrismaClient };
export type { Prisma } from "../generated/prisma/client";

/** The pg pool under each client made here: the hottest statements run on it (see hot-sql.ts). */
const pools = new WeakMap<PrismaClient, pg.Pool>();

/** The Prisma client over node-postgres (driver adapter: no native query engine needed). */
export function createPrisma(databaseUrl: string): PrismaClient {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 20,
    // Fail fast while Postgres is down so health checks and requests answer instead of hanging.
    connectionTimeoutMillis: 2_000,
  });
  // An idle connection lost (Postgres restarted) is dropped by the pool and the next query connects
  // again; without a listener its error event would crash the process before Prisma adds its own.
  pool.on("error", () => {});
  // The adapter ends the pool on $disconnect, as it would a pool of its own.
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(prisma, pool);
  return prisma;
}

/** The pool a client of createPrisma runs on: one pool for Prisma and the raw hot path. */
export function poolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error("this Prisma client was not made by createPrisma");
  return pool;
}

/** The client handed to code running inside `prisma.$transaction(async (tx) => ...)`. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
