// A background pass on an interval: a worker's `drain()` (one pass over everything due), run every
// `intervalMs` and on demand (poke). Never two passes at once: a tick during a pass is skipped, a
// poke during a pass gets one more pass after it. A failed pass is logged and left to the next
// one; stop() waits for the pass in flight. Subclass and override drain(), or give `pass`.
import type { Logger } from "pino";

export class PassLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly loop: {
      intervalMs: number;
      logger: Logger;
      name: string;
      pass?: () => Promise<unknown>;
    },
  ) {}

  /** One pass over everything due (tests await it). */
  async drain(): Promise<void> {
    await this.loop.pass?.();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) this.poke();
    }, this.loop.intervalMs);
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
