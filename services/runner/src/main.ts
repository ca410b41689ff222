// The runner process: load config once, connect to NATS, announce, heartbeat, shut down gracefully.
import { hostname } from "node:os";
import pino from "pino";
import { RunnerInfo } from "@optio/contracts";
import { loadConfig } from "./config";
import { connectNats, ensureRunsStream } from "./nats";
import { Presence } from "./presence";
import { version } from "../package.json";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = pino({
    level: config.OPTIO_LOG_LEVEL,
    base: { service: "optio-runner", runnerId: config.OPTIO_RUNNER_ID },
  });
  const startedAt = new Date().toISOString();
  const nc = await connectNats(config.NATS_URL, `optio-runner-${config.OPTIO_RUNNER_ID}`);
  logger.info({ nats: config.NATS_URL }, "connected to NATS");
  await ensureRunsStream(nc);

  let stopping = false;
  const info = (): RunnerInfo => ({
    runnerId: config.OPTIO_RUNNER_ID,
    host: hostname(),
    version,
    driver: config.OPTIO_RUNNER_DRIVER,
    isolated: config.OPTIO_RUNNER_DRIVER !== "local",
    slots: { total: config.OPTIO_RUNNER_SLOTS, busy: 0 },
    agentTypes: config.OPTIO_RUNNER_AGENT_TYPES,
    labels: config.OPTIO_RUNNER_LABELS,
    startedAt,
  });
  const presence = new Presence({
    nc,
    logger,
    intervalMs: config.OPTIO_RUNNER_HEARTBEAT_MS,
    snapshot: () => ({ info: info(), runs: [], stopping }),
    onStop: () => {},
  });
  presence.start();
  logger.info({ slots: config.OPTIO_RUNNER_SLOTS, driver: config.OPTIO_RUNNER_DRIVER }, "runner announced");

  // Re-announce after a reconnect so a restarted NATS (or API) learns about us at once.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "reconnect") {
        logger.info("reconnected to NATS");
        presence.announce();
      }
    }
  })();

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    presence.stop();
    await nc.drain().catch(() => {});
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
