// TEST ONLY. The run-report stream as the API creates it (services/api/src/nats/connection.ts):
// runners never manage streams, so tests that play the API's side make it themselves.
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { RUNS_STREAM, RUNS_STREAM_SUBJECTS } from "@optio/contracts";

export async function ensureRunsStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.info(RUNS_STREAM).catch(() =>
    jsm.streams.add({
      name: RUNS_STREAM,
      subjects: RUNS_STREAM_SUBJECTS,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(24 * 3600 * 1000),
      duplicate_window: nanos(10 * 60 * 1000),
    }),
  );
}
