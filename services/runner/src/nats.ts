import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { RUNS_STREAM, RUNS_STREAM_SUBJECTS } from "@optio/contracts";

/**
 * Connects and keeps reconnecting forever: a NATS restart must not take a runner (or its runs) down.
 * No async traces: they cost two Error objects (with stacks) per request and publish.
 */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  });
}

/**
 * Creates the run-report stream if it is missing (the API may create it first; both agree on the
 * config through @optio/contracts). Reports are kept a day: the API consumes them with a durable
 * consumer, so an API restart applies what was buffered meanwhile.
 */
export async function ensureRunsStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(RUNS_STREAM);
  } catch {
    await jsm.streams
      .add({
        name: RUNS_STREAM,
        subjects: RUNS_STREAM_SUBJECTS,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(24 * 3600 * 1000),
        duplicate_window: nanos(10 * 60 * 1000),
      })
      .catch(async (error: unknown) => {
        // Another process created it between our info and add.
        await jsm.streams.info(RUNS_STREAM).catch(() => {
          throw error;
        });
      });
  }
}
