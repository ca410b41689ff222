// Signals to runners over core NATS, sent after the transaction that caused them has committed.
// They are hints: a runner that misses a cancel learns it from its next heartbeat reply, and an idle
// runner that misses a wakeup finds the work on its next slow poll.
import type { NatsConnection } from "@nats-io/nats-core";
import { subjects, type DispatchWakeup, type RunCancel } from "@optio/contracts";
import type { Logger } from "pino";

export interface RunSignals {
  /** Tells the runner holding the run to stop that attempt. */
  cancelRun(run: { runId: string; attempt: number; runnerId: string }): void;
  wakeup(): void;
}

export class NatsRunSignals implements RunSignals {
  private readonly nats: NatsConnection;
  private readonly logger: Logger;

  constructor(options: { nats: NatsConnection; logger: Logger }) {
    this.nats = options.nats;
    this.logger = options.logger;
  }

  cancelRun(run: { runId: string; attempt: number; runnerId: string }): void {
    const message: RunCancel = { runId: run.runId, attempt: run.attempt, reason: "cancelled" };
    this.publish(subjects.runCancel(run.runnerId, run.runId), message);
  }

  wakeup(): void {
    const message: DispatchWakeup = { time: new Date().toISOString() };
    this.publish(subjects.dispatchWakeup(), message);
  }

  private publish(subject: string, message: object): void {
    try {
      this.nats.publish(subject, JSON.stringify(message));
    } catch (err) {
      this.logger.warn({ err, subject }, "run signal not sent; the runner's heartbeat or poll will catch up");
    }
  }
}
