import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import supertest from "supertest";
import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "@nats-io/nats-core";
import { buildApp } from "../../src/app";
import { createPrisma, type PrismaClient } from "../../src/db/prisma";
import { connectNats } from "../../src/nats/connection";
import { createServices } from "../../src/services";
import { createTestDatabase, testServiceConfig } from "../helpers/test-context";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A private nats-server this test may kill without disturbing other test files. */
async function startPrivateNats(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "optio-health-nats-"));
  const child = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const nc = await connectNats(url, "probe");
      await nc.close();
      return { url, child, dir };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("private nats-server did not start");
}

async function appWith(prisma: PrismaClient, nats: NatsConnection): Promise<FastifyInstance> {
  const logger = pino({ level: "silent" });
  const config = testServiceConfig();
  const { services } = createServices({ config, prisma, nats, logger });
  const app = await buildApp({ logger, services, version: "test", authRateLimit: 10 });
  await app.ready();
  return app;
}

describe("GET /api/health when a dependency is down", () => {
  let nats: { url: string; child: ChildProcess; dir: string };
  let nc: NatsConnection;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let prisma: PrismaClient;

  beforeAll(async () => {
    nats = await startPrivateNats();
    nc = await connectNats(nats.url, "health-test");
    database = await createTestDatabase();
    prisma = createPrisma(database.url);
  });
  afterAll(async () => {
    nats.child.kill("SIGKILL");
    await nc.close().catch(() => {});
    await prisma.$disconnect();
    await database.drop();
    rmSync(nats.dir, { recursive: true, force: true });
  });

  it("answers 503 naming NATS, promptly, while NATS is down", async () => {
    const app = await appWith(prisma, nc);
    await supertest(app.server).get("/api/health").expect(200);
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
    const liveNc = await connectNats(live.url, "health-test-2");
    const app = await appWith(deadPrisma, liveNc);
    const res = await supertest(app.server).get("/api/health").expect(503);
    expect(res.body.checks).toEqual({ database: "down", nats: "ok" });
    await app.close();
    await liveNc.close();
    live.child.kill("SIGKILL");
    rmSync(live.dir, { recursive: true, force: true });
  });
});
