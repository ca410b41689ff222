// Ephemeral "something new" hints on core NATS (not in any stream): they wake live streams on
// every API replica at once; the data itself is always read from Postgres or JetStream.
import type { NatsConnection } from "@nats-io/nats-core";

const logsHint = (taskId: string) => `optio.hint.task.${taskId}.logs`;

export class LiveHints {
  private readonly nats: NatsConnection;

  constructor(options: { nats: NatsConnection }) {
    this.nats = options.nats;
  }

  logsStored(taskId: string): void {
    try {
      this.nats.publish(logsHint(taskId), "");
    } catch {
      // A missed hint only delays a live stream until its next poll.
    }
  }

  /** Calls `wake` whenever logs of the task were stored; returns the unsubscribe function. */
  onLogs(taskId: string, wake: () => void): () => void {
    const sub = this.nats.subscribe(logsHint(taskId), { callback: () => wake() });
    return () => sub.unsubscribe();
  }
}
