// A background worker's loop: `drain()` (one pass over everything due) runs on an interval and on
// demand (poke). Pokes that arrive while a pass runs are coalesced into one more pass after it;
// stop() waits for the pass in flight.
import type { Logger } from "pino";

export abstract class PassLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly loop: { intervalMs: number; logger: Logger; name: string }) {}

  /** One pass over everything due (tests await it). */
  abstract drain(): Promise<void>;

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.poke(), this.loop.intervalMs);
    this.timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs a pass now (coalesced with one already running). */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.loop.logger.error({ err: error }, `${this.loop.name} pass failed`))
      .finally(() => {
        this.running = null;
        if (this.again && this.timer) {
          this.again = false;
          this.poke();
        }
      });
  }
}
