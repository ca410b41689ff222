import pino from "pino";
import supertest from "supertest";
import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "@nats-io/nats-core";
import { buildApp } from "../../src/app";
import { createPrisma, type PrismaClient } from "../../src/db/prisma";
import { connectNats } from "../../src/nats/connection";
import { createServices } from "../../src/services";
import { eventually } from "../helpers/eventually";
import { createTestDatabase, testServiceConfig } from "../helpers/test-context";
import { freePort, startPrivateNats, type PrivateNats } from "../helpers/private-nats";

async function appWith(prisma: PrismaClient, nats: NatsConnection): Promise<FastifyInstance> {
  const logger = pino({ level: "silent" });
  const config = testServiceConfig();
  const { services } = createServices({ config, prisma, nats, logger });
  const app = await buildApp({ logger, nats, services, version: "test", authRateLimit: 10 });
  await app.ready();
  return app;
}

describe("GET /api/health when a dependency is down", () => {
  let nats: PrivateNats;
  let nc: NatsConnection;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let prisma: PrismaClient;

  beforeAll(async () => {
    nats = await startPrivateNats();
    nc = await connectNats(nats.url, "health-test", nats.api);
    database = await createTestDatabase();
    prisma = createPrisma(database.url);
  });
  afterAll(async () => {
    await nc.close().catch(() => {});
    await nats.stop();
    await prisma.$disconnect();
    await database.drop();
  });

  it("answers 503 naming NATS, promptly, while NATS is down", async () => {
    const app = await appWith(prisma, nc);
    // Healthy first (the first probe also opens the pool, which a loaded machine may take >1 s for).
    await eventually(
      "healthy",
      async () => (await supertest(app.server).get("/api/health")).status,
      (status) => status === 200,
    );
    nats.child.kill("SIGKILL");
    await new Promise((r) => nats.child.once("exit", r));
    const started = Date.now();
    const res = await supertest(app.server).get("/api/health").expect(503);
    expect(res.body).toMatchObject({ status: "degraded", checks: { database: "ok", nats: "down" } });
    expect(Date.now() - started).toBeLessThan(5_000);
    await app.close();
  });

  it("answers 503 naming the database while Postgres does not answer", async () => {
    const deadPrisma = createPrisma(`postgresql://postgres@127.0.0.1:${await freePort()}/none`);
    const live = await startPrivateNats();
    const liveNc = await connectNats(live.url, "health-test-2", live.api);
    const app = await appWith(deadPrisma, liveNc);
    const res = await supertest(app.server).get("/api/health").expect(503);
    expect(res.body.checks).toEqual({ database: "down", nats: "ok" });
    await app.close();
    await liveNc.close();
    await live.stop();
  });
});
