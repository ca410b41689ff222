// A background pass repeated every `everyMs`: never two at once (a tick during a pass is skipped),
// a failure logged and left to the next tick, and stop() waits for the pass in flight.
import type { Logger } from "pino";

export class PeriodicPass {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly options: { everyMs: number; pass: () => Promise<unknown>; logger: Logger; what: string },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.options
        .pass()
        .then(
          () => undefined,
          (err: unknown) => this.options.logger.warn({ err }, `${this.options.what} failed`),
        )
        .finally(() => (this.running = null));
    }, this.options.everyMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
