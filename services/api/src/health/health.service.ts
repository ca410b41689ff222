import type { NatsConnection } from "@nats-io/nats-core";
import type { PrismaClient } from "../db/prisma";

type Check = "ok" | "down";

/** Resolves false instead of hanging when a dependency does not answer in time. */
async function within(ms: number, probe: () => Promise<unknown>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Check>((resolve) => {
    timer = setTimeout(() => resolve("down"), ms);
  });
  try {
    return await Promise.race([
      probe().then(
        (): Check => "ok",
        (): Check => "down",
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Probes Postgres and NATS; answers within ~1 s even when either is down. */
export class HealthService {
  private readonly prisma: PrismaClient;
  private readonly nats: NatsConnection;

  constructor(options: { prisma: PrismaClient; nats: NatsConnection }) {
    this.prisma = options.prisma;
    this.nats = options.nats;
  }

  async check(): Promise<{ database: Check; nats: Check }> {
    const [database, nats] = await Promise.all([
      within(1_000, () => this.prisma.$queryRaw`SELECT 1`),
      within(1_000, () => (this.nats.isClosed() ? Promise.reject(new Error("closed")) : this.nats.flush())),
    ]);
    return { database, nats };
  }
}
