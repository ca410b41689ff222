import { buildApp } from "./app";
import { loadConfig } from "./config";
import { createPrisma } from "./db/prisma";
import { createLogger } from "./logger";
import { connectNats, ensureEventsStream } from "./nats/connection";
import { createServices } from "./services";
import { VERSION } from "./version";
import { ApiMetrics } from "./metrics/api-metrics";
import { API_NATS_USER } from "@optio/contracts";
import { natsCredentials, startMetricsServer } from "@optio/core";

/** Starts the API process: config, clients, app, background workers; stops gracefully. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.OPTIO_LOG_LEVEL, name: "optio-api" });
  const prisma = createPrisma(config.DATABASE_URL);
  const nats = await connectNats(config.NATS_URL, "optio-api", natsCredentials(config, API_NATS_USER));
  await ensureEventsStream(nats);

  const metrics = new ApiMetrics({ prisma, nats });
  const { services, publisher, dispatch, sideEffects, prLoop, notifications, issueImporter } = createServices(
    {
      config,
      prisma,
      nats,
      logger,
      notifications: { onOutcome: (outcome) => metrics.observeNotificationDelivery(outcome) },
    },
  );
  metrics.attachBudget(services.budget);
  const app = await buildApp({
    logger,
    nats,
    services,
    version: VERSION,
    authRateLimit: config.OPTIO_AUTH_RATE_LIMIT,
    trustProxy: config.OPTIO_TRUST_PROXY,
    metrics,
  });
  publisher.start();
  await dispatch.server.start();
  sideEffects.start();
  prLoop.watcher.start();
  await notifications.start();
  issueImporter.start();
  await app.listen({ port: config.OPTIO_API_PORT, host: config.OPTIO_API_HOST });
  const metricsServer =
    config.OPTIO_METRICS_PORT > 0
      ? await startMetricsServer({
          registry: metrics.registry,
          port: config.OPTIO_METRICS_PORT,
          host: config.OPTIO_API_HOST,
          logger,
        })
      : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    await app.close();
    metricsServer?.close();
    await dispatch.server.stop();
    await sideEffects.stop();
    await prLoop.watcher.stop();
    await notifications.stop();
    await issueImporter.stop();
    await publisher.stop();
    await nats.drain().catch(() => {});
    await prisma.$disconnect();
    clearTimeout(force);
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
