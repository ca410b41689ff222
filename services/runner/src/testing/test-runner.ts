// TEST ONLY. A Runner in the test process, reporting straight to JetStream (as main.ts wires it).
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import pino from "pino";
import type { RunnerConfig } from "../config";
import type { Driver } from "../driver";
import { connectNats } from "../nats";
import { Runner } from "../runner";
import type { TestNats } from "./nats";

/** A connection as the runner `runnerId` (its own identity and inbox prefix), as main.ts makes it. */
export async function runnerConnection(nats: TestNats, runnerId: string): Promise<NatsConnection> {
  return connectNats({
    url: nats.url,
    name: `optio-runner-${runnerId}`,
    runnerId,
    credentials: await nats.addRunner(runnerId),
  });
}

/** Started; the caller shuts it down. `publishTimeoutMs` bounds each report's publish. */
export async function startTestRunner(options: {
  config: RunnerConfig;
  nc: NatsConnection;
  driver: Driver;
  publishTimeoutMs?: number;
}): Promise<Runner> {
  const js = jetstream(options.nc);
  const runner = new Runner({
    config: options.config,
    nc: options.nc,
    driver: options.driver,
    logger: pino({ level: process.env.OPTIO_TEST_LOG ?? "silent" }),
    version: "test",
    sink: async (subject, payload, msgId) =>
      void (await js.publish(subject, payload, {
        msgID: msgId,
        ...(options.publishTimeoutMs && { timeout: options.publishTimeoutMs }),
      })),
  });
  await runner.start();
  return runner;
}
