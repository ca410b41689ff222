import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client";

export { PrismaClient };
export type { Prisma } from "../generated/prisma/client";

/** The Prisma client over node-postgres (driver adapter: no native query engine needed). */
export function createPrisma(databaseUrl: string): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: 20,
    // Fail fast while Postgres is down so health checks and requests answer instead of hanging.
    connectionTimeoutMillis: 2_000,
  });
  return new PrismaClient({ adapter });
}

/** The client handed to code running inside `prisma.$transaction(async (tx) => ...)`. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
