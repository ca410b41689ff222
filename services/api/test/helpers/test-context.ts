// A real API on a fresh database (cloned from the migrated template) and the test stack's NATS.
// Nothing is faked: Postgres, NATS and JetStream are the processes `npm test` started.
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "@nats-io/nats-core";
import { DeliverPolicy, jetstream, type ConsumerMessages } from "@nats-io/jetstream";
import pg from "pg";
import supertest from "supertest";
import type { DestinationStream } from "pino";
import { EVENTS_STREAM, type EventEnvelope } from "@optio/contracts";
import type { NatsCredentials } from "@optio/core";
import { buildApp, type AppServices } from "../../src/app";
import { createPrisma, type PrismaClient } from "../../src/db/prisma";
import { connectNats, ensureEventsStream } from "../../src/nats/connection";
import { createServices, type ServiceDeps } from "../../src/services";
import type { SecretReader } from "../../src/secrets/secret-reader";
import type { GitPlatforms } from "../../src/platform/platform-registry";
import type { SideEffectWorker } from "../../src/side-effects/side-effect.worker";
import type { PrLoop } from "../../src/prloop/pr-loop.wiring";
import type { PrPlatform } from "../../src/prloop/pr-platform";
import { createLogger } from "../../src/logger";
import { ApiConfig } from "../../src/config";
import type { Outbox } from "../../src/events/outbox";
import type { OutboxPublisher } from "../../src/events/outbox-publisher";
import type { Dispatch } from "../../src/dispatch/dispatch-services";
import type { ApiMetrics } from "../../src/metrics/api-metrics";
import type { Notifications } from "../../src/notifications/notifications.wiring";
import type { IssueImporter } from "../../src/issues/issue-import.service";

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the test stack`);
  return value;
}

/**
 * The test stack's NATS (scripts/test.mjs) and the API's identity on it; none when the stack uses
 * a NATS_URL of yours (give OPTIO_TEST_NATS_USER/OPTIO_TEST_NATS_PASSWORD for one with auth).
 */
export function stackNats(): { url: string; credentials?: NatsCredentials } {
  const user = process.env.OPTIO_TEST_NATS_USER;
  const pass = process.env.OPTIO_TEST_NATS_PASSWORD;
  return { url: requireEnv("NATS_URL"), credentials: user && pass ? { user, pass } : undefined };
}

/** Creates a database from the migrated template; returns its URL and a dropper. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const templateUrl = new URL(requireEnv("OPTIO_TEST_TEMPLATE_DB_URL"));
  const adminUrl = requireEnv("OPTIO_TEST_ADMIN_DB_URL");
  const name = `test_${randomBytes(6).toString("hex")}`;
  const template = templateUrl.pathname.slice(1);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.end();
  }
  templateUrl.pathname = `/${name}`;
  return {
    url: templateUrl.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => client.end());
    },
  };
}

/**
 * Records the lifecycle events stored in the JetStream events stream from now on, as a consumer
 * of the stream sees them (so a deduplicated republish is not seen twice).
 */
export class EventCollector {
  readonly events: EventEnvelope[] = [];
  private messages: ConsumerMessages | undefined;
  private readonly ready: Promise<void>;

  constructor(nats: NatsConnection) {
    this.ready = this.start(nats);
  }

  private async start(nats: NatsConnection): Promise<void> {
    const consumer = await jetstream(nats).consumers.get(EVENTS_STREAM, {
      deliver_policy: DeliverPolicy.New,
    });
    this.messages = await consumer.consume();
    void (async () => {
      for await (const message of this.messages!) this.events.push(message.json<EventEnvelope>());
    })();
  }

  /** Resolves once the consumer is attached: events published after this are seen. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Waits until an event matching `predicate` has arrived. */
  async waitFor(predicate: (event: EventEnvelope) => boolean, timeoutMs = 5_000): Promise<EventEnvelope> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no matching event within ${timeoutMs} ms; saw: ${this.events.map((e) => e.subject).join(", ")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  ofType(type: string, entityId?: string): EventEnvelope[] {
    return this.events.filter((e) => e.type === type && (!entityId || e.subject.split(".")[2] === entityId));
  }

  async stop(): Promise<void> {
    await this.ready.catch(() => {});
    await this.messages?.close();
  }
}

/** The API's configuration with its documented defaults, as the tests run it. */
export function testServiceConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return {
    ...ApiConfig.parse({
      DATABASE_URL: "postgresql://unused@127.0.0.1/unused",
      OPTIO_SECRET_KEY: requireEnv("OPTIO_SECRET_KEY"),
    }),
    OPTIO_ALLOWED_REPO_HOSTS: ["127.0.0.1", "localhost"],
    // No background PR polling unless a test asks for it: tests say when the platform is read.
    OPTIO_PR_POLL_MS: 0,
    ...overrides,
  };
}

export type TestContext = {
  app: FastifyInstance;
  http: ReturnType<typeof supertest>;
  prisma: PrismaClient;
  nats: NatsConnection;
  services: AppServices;
  outbox: Outbox;
  publisher: OutboxPublisher;
  /** The runner protocol side; not started unless the test calls dispatch.server.start(). */
  dispatch: Dispatch;
  /** Platform side effects (PRs, issue comments); started with the context. */
  sideEffects: SideEffectWorker;
  platforms: GitPlatforms;
  /** The PR loop; its sweep is not started unless the test calls prLoop.watcher.start(). */
  prLoop: PrLoop;
  /** Outbound webhooks; not started unless the test calls notifications.start(). */
  notifications: Notifications;
  /** Imports labelled issues; its periodic sync is not started unless the test calls start(). */
  issueImporter: IssueImporter;
  events: EventCollector;
  databaseUrl: string;
  /** Completes setup once; returns the first admin's session token. */
  adminToken: () => Promise<string>;
  /** Creates a member (through the API) and returns an API token for it. */
  createMember: (email?: string) => Promise<{ id: string; token: string }>;
  close: () => Promise<void>;
};

export type TestContextOptions = {
  authRateLimit?: number;
  allowedRepoHosts?: string[];
  /** Reuse this database (e.g. a second API on the same data) instead of a fresh one; not dropped. */
  databaseUrl?: string;
  /** A NATS of the test's own (see private-nats.ts: `forApi`) instead of the stack's. */
  nats?: { url: string; credentials?: NatsCredentials };
  /** Configuration overrides (e.g. short leases for dispatch tests). */
  config?: Partial<ApiConfig>;
  /** Capture the API's log lines (at info level) to assert what is and is not logged. */
  logStream?: DestinationStream;
  /** Observe HTTP requests into these metrics (see metrics/api-metrics.ts). */
  metrics?: ApiMetrics;
  /** Stored secrets (e.g. GITHUB_TOKEN for a GitHub double). */
  secrets?: SecretReader;
  /** Platform clients' back-off and the side-effect worker's timings (shrunk for tests). */
  platformBackoff?: ServiceDeps["platformBackoff"];
  sideEffects?: ServiceDeps["sideEffects"];
  /** The git platform of the PR loop (a client pointed at the GitHub double). */
  platform?: PrPlatform;
  /** Outbound notifications (a durable consumer name of the test's own). */
  notifications?: ServiceDeps["notifications"];
  /** The daily budget's clock (a test moves it to the next UTC day). */
  clock?: () => Date;
};

export const TEST_PASSWORD = `pw-${randomBytes(8).toString("hex")}`;

export async function createTestContext(options: TestContextOptions = {}): Promise<TestContext> {
  const database = options.databaseUrl
    ? { url: options.databaseUrl, drop: async () => {} }
    : await createTestDatabase();
  const prisma = createPrisma(database.url);
  const server = options.nats ?? stackNats();
  const nats = await connectNats(server.url, "optio-api-test", server.credentials);
  await ensureEventsStream(nats);
  const logger = createLogger({
    name: "optio-api-test",
    level: options.logStream ? "info" : (process.env.OPTIO_TEST_LOG_LEVEL ?? "silent"),
    destination: options.logStream,
  });
  const config = testServiceConfig({
    ...(options.allowedRepoHosts && { OPTIO_ALLOWED_REPO_HOSTS: options.allowedRepoHosts }),
    ...options.config,
  });
  const wired = createServices({
    config,
    prisma,
    nats,
    logger,
    secrets: options.secrets,
    platformBackoff: options.platformBackoff ?? { unitMs: 10 },
    sideEffects: options.sideEffects ?? { intervalMs: 200, retryBaseMs: 100 },
    platform: options.platform,
    notifications: options.notifications,
    clock: options.clock,
  });
  const app = await buildApp({
    logger,
    nats,
    services: wired.services,
    version: "test",
    authRateLimit: options.authRateLimit ?? 1000,
    metrics: options.metrics,
  });
  await app.ready();
  wired.publisher.start();
  wired.sideEffects.start();
  const events = new EventCollector(nats);
  await events.whenReady();
  const http = supertest(app.server);

  let adminToken: string | undefined;
  const context: TestContext = {
    app,
    http,
    prisma,
    nats,
    ...wired,
    events,
    databaseUrl: database.url,
    adminToken: async () => {
      if (adminToken) return adminToken;
      const res = await http
        .post("/api/setup/complete")
        .send({ email: "admin@example.test", password: TEST_PASSWORD, name: "Admin" })
        .expect(201);
      adminToken = res.body.token as string;
      return adminToken;
    },
    createMember: async (email = `member-${randomBytes(4).toString("hex")}@example.test`) => {
      const admin = await context.adminToken();
      const created = await http
        .post("/api/users")
        .set("authorization", `Bearer ${admin}`)
        .send({ email, password: TEST_PASSWORD, role: "member" })
        .expect(201);
      const login = await http.post("/api/auth/login").send({ email, password: TEST_PASSWORD }).expect(200);
      return { id: created.body.user.id as string, token: login.body.token as string };
    },
    close: async () => {
      await events.stop();
      await app.close();
      await wired.dispatch.server.stop();
      await wired.sideEffects.stop();
      await wired.prLoop.watcher.stop();
      await wired.notifications.stop();
      await wired.issueImporter.stop();
      await wired.publisher.stop();
      await nats.close();
      await prisma.$disconnect();
      await database.drop();
    },
  };
  return context;
}
