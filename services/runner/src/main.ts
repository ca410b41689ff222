// The runner process: load config once, connect to NATS and the engine, run, shut down gracefully.
import pino from "pino";
import { natsCredentials, natsUrlForLogs, startMetricsServer } from "@optio/core";
import { runnerNatsUser } from "@optio/contracts";
import { jetstream } from "@nats-io/jetstream";
import { loadConfig, type RunnerConfig } from "./config";
import { DockerDriver } from "./docker.driver";
import type { Driver } from "./driver";
import { loadGitCredentials } from "./git-credentials";
import { LocalDriver } from "./local.driver";
import { connectNats } from "./nats";
import { Runner } from "./runner";
import { RunnerMetrics } from "./runner-metrics";
import { version } from "../package.json";

async function createDriver(config: RunnerConfig, logger: pino.Logger): Promise<Driver> {
  switch (config.OPTIO_RUNNER_DRIVER) {
    case "local":
      return new LocalDriver({ config });
    case "kubernetes": {
      // Loaded only when chosen: the client library costs seconds of start-up CPU.
      const { KubernetesDriver } = await import("./kubernetes.driver");
      return new KubernetesDriver({ config, logger });
    }
    case "docker":
      return new DockerDriver({ config, logger });
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = pino({
    level: config.OPTIO_LOG_LEVEL,
    base: { service: "optio-runner", runnerId: config.OPTIO_RUNNER_ID },
    redact: { paths: ["*.pass", "*.password", "*.secretEnv", "*.gitCredential"], censor: "[REDACTED]" },
  });
  const gitCredentials = loadGitCredentials(config.OPTIO_RUNNER_GIT_CREDENTIALS);
  const driver = await createDriver(config, logger);
  if (driver.ping)
    logger.info({ engine: await driver.ping(), driver: driver.name }, "container engine reachable");
  else logger.warn("local driver: runs are NOT isolated from this host");

  const credentials = natsCredentials(config, runnerNatsUser(config.OPTIO_RUNNER_ID));
  const nc = await connectNats({
    url: config.NATS_URL,
    name: `optio-runner-${config.OPTIO_RUNNER_ID}`,
    runnerId: config.OPTIO_RUNNER_ID,
    credentials,
  });
  logger.info({ nats: natsUrlForLogs(config.NATS_URL), natsUser: credentials?.user }, "connected to NATS");
  // No stream set-up here: the API creates the report stream; a report sent before it exists is
  // retried until it is stored (run-reporter.ts).
  const js = jetstream(nc);
  const metrics = new RunnerMetrics({ runnerId: config.OPTIO_RUNNER_ID, slots: config.OPTIO_RUNNER_SLOTS });
  const runner = new Runner({
    metrics,
    config,
    nc,
    driver,
    logger,
    version,
    gitCredentials,
    sink: async (subject, payload, msgId) => {
      await js.publish(subject, payload, { msgID: msgId, timeout: 5000 });
    },
  });
  metrics.attach(runner);
  await runner.start();
  const metricsServer =
    config.OPTIO_RUNNER_METRICS_PORT > 0
      ? await startMetricsServer({
          registry: metrics.registry,
          port: config.OPTIO_RUNNER_METRICS_PORT,
          host: config.OPTIO_RUNNER_METRICS_HOST,
          logger,
        })
      : undefined;

  // After a reconnect: heartbeat at once (leases), and look for work.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "reconnect") {
        logger.info("reconnected to NATS");
        runner.reconnected();
      }
    }
  })();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, runs: runner.busy }, "shutting down");
    await runner.shutdown();
    metricsServer?.close();
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
