import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import {
  RunnerAnnounced,
  RunnerHeartbeat,
  RunnerHeartbeatReply,
  subjects,
  type HeldRun,
  type RunnerInfo,
} from "@optio/contracts";

export interface PresenceOptions {
  nc: NatsConnection;
  logger: Logger;
  intervalMs: number;
  /** The runner's current view of itself: slots, runs held, draining. */
  snapshot: () => { info: RunnerInfo; runs: HeldRun[]; stopping: boolean };
  /** Called with the runs the API wants stopped (missed cancel, fenced lease). */
  onStop: (stop: RunnerHeartbeatReply["stop"]) => void;
}

/** Announces the runner and sends periodic heartbeats (a request: the reply may tell it to stop runs). */
export class Presence {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(private readonly opts: PresenceOptions) {}

  announce(): void {
    const { info } = this.opts.snapshot();
    const msg = RunnerAnnounced.parse({ ...info, time: new Date().toISOString() });
    this.opts.nc.publish(subjects.runnerAnnounce(info.runnerId), JSON.stringify(msg));
  }

  start(): void {
    this.announce();
    this.timer = setInterval(() => void this.beat(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One heartbeat; also callable on demand (e.g. right after a run starts). */
  async beat(): Promise<void> {
    if (this.inFlight || this.opts.nc.isClosed()) return;
    this.inFlight = true;
    const { info, runs, stopping } = this.opts.snapshot();
    const msg = RunnerHeartbeat.parse({ ...info, time: new Date().toISOString(), runs, stopping });
    try {
      const reply = await this.opts.nc.request(subjects.runnerHeartbeat(info.runnerId), JSON.stringify(msg), {
        timeout: Math.max(500, Math.min(this.opts.intervalMs, 5000)),
      });
      const parsed = RunnerHeartbeatReply.safeParse(reply.json());
      if (!parsed.success) {
        this.opts.logger.warn({ issues: parsed.error.issues }, "invalid heartbeat reply ignored");
      } else if (parsed.data.stop.length > 0) {
        this.opts.onStop(parsed.data.stop);
      }
    } catch (error) {
      // No API listening yet (or NATS reconnecting): the heartbeat still reached any subscriber.
      this.opts.logger.debug({ err: error }, "heartbeat not answered");
    } finally {
      this.inFlight = false;
    }
  }
}
