// The agent CLIs' session files between the runs of one task. A run's container is gone when the
// next run (a resume, a CI or review fix-up) starts, perhaps on another runner, and the CLIs keep
// their sessions under their home directory: so the entrypoint packs them after the agent exits,
// the runner keeps the archive in a JetStream object store, one object per task (named by its id),
// and restores it into the next run of the same task. Only runners read and write the bucket; a
// container only ever receives its own task's archive.
import { StorageType } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { AGENT_SESSIONS_BUCKET } from "@optio/contracts";

/** A task's kept sessions: the archive, and the session ids it is known to hold. */
export interface KeptSessions {
  archive: Buffer;
  sessionIds: string[];
}

export class AgentSessions {
  private store: Promise<ObjectStore> | undefined;

  constructor(private readonly opts: { nc: NatsConnection; ttlMs: number; maxBytes: number }) {}

  get maxBytes(): number {
    return this.opts.maxBytes;
  }

  /** The bucket, made on first use by whichever runner needs it first (create opens an existing one). */
  private bucket(): Promise<ObjectStore> {
    this.store ??= new Objm(this.opts.nc)
      .create(AGENT_SESSIONS_BUCKET, { storage: StorageType.File, ttl: nanos(this.opts.ttlMs) })
      .catch((error: unknown) => {
        this.store = undefined; // try again on the next call
        throw error;
      });
    return this.store;
  }

  async load(taskId: string): Promise<KeptSessions | null> {
    const bucket = await this.bucket();
    const info = await bucket.info(taskId);
    if (!info || info.deleted) return null;
    const data = await bucket.getBlob(taskId);
    if (!data) return null;
    return { archive: Buffer.from(data), sessionIds: (info.description ?? "").split(",").filter(Boolean) };
  }

  /** Replaces the task's archive; `sessionIds` are every session it holds (at most the last 50). */
  async save(taskId: string, archive: Buffer, sessionIds: readonly string[]): Promise<void> {
    if (archive.length > this.opts.maxBytes)
      throw new Error(`the session archive (${archive.length} bytes) is over the ${this.opts.maxBytes} kept`);
    const ids = [...new Set(sessionIds)].slice(-50);
    const bucket = await this.bucket();
    await bucket.putBlob({ name: taskId, description: ids.join(",") }, archive);
  }
}
