import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager, RetentionPolicy, StorageType, type ConsumerConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { NatsCredentials } from "@optio/core";
import { EVENTS_STREAM, EVENTS_STREAM_SUBJECTS, RUNS_STREAM, RUNS_STREAM_SUBJECTS } from "@optio/contracts";

/**
 * Connects and keeps reconnecting forever: NATS being down must not take the API down. No async
 * traces: the client would otherwise build two Error objects (with stacks) for every request and
 * JetStream publish, a few % of the API's CPU under intake load, only to decorate a timeout's stack.
 * `credentials`: the API's identity (natsCredentials); none against a server without authorization.
 */
export function connectNats(
  url: string,
  name: string,
  credentials?: NatsCredentials,
): Promise<NatsConnection> {
  return connect({
    servers: url,
    name,
    ...credentials,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
  });
}

/** Creates (or updates) the lifecycle-event stream. Idempotent; safe from every replica. */
export async function ensureEventsStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: EVENTS_STREAM,
    subjects: EVENTS_STREAM_SUBJECTS,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(30 * 24 * 3600 * 1000),
    // Republishing an outbox row after a crash is deduplicated within this window.
    duplicate_window: nanos(10 * 60 * 1000),
  };
  try {
    await jsm.streams.info(EVENTS_STREAM);
    await jsm.streams.update(EVENTS_STREAM, config);
  } catch {
    await jsm.streams.add(config);
  }
}

/**
 * The run-report stream, created by the API only (runners may publish reports, never manage
 * streams). A stream made before the reports moved under `optio.runner.<id>.` gets the current
 * subjects; reports it still holds on the old ones are dropped by the report consumer (their runs
 * come back through lease expiry).
 */
export async function ensureRunsStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(RUNS_STREAM).catch(() => undefined);
  if (info) {
    const current = [...(info.config.subjects ?? [])].sort().join(",");
    if (current !== [...RUNS_STREAM_SUBJECTS].sort().join(","))
      await jsm.streams.update(RUNS_STREAM, { ...info.config, subjects: RUNS_STREAM_SUBJECTS });
    return;
  }
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
      // Another replica created it between our info and add.
      await jsm.streams.info(RUNS_STREAM).catch(() => {
        throw error;
      });
    });
}

/**
 * Creates a durable consumer, or leaves it as it is when it exists (another replica made it, or an
 * earlier start): its position in the stream is kept.
 */
export async function ensureDurableConsumer(
  nc: NatsConnection,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(stream, config).catch(async (err: unknown) => {
    await jsm.consumers.info(stream, config.durable_name).catch(() => {
      throw err;
    });
  });
}
