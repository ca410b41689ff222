// The warm pool's bookkeeping, engine-free: keeps `size` units created and started for one target
// (what a unit is made for: the driver's image and repo mirror), hands each to exactly one run,
// refills in the background, and drains on a target change and on close. The engine side
// (creating, assigning, removing a unit) is the driver's.
import type { Logger } from "pino";
import type { WarmPool as WarmPoolStats } from "@optio/contracts";

export interface WarmUnit {
  readonly id: string;
  remove(): Promise<void>;
}

export interface WarmPoolOptions<U extends WarmUnit> {
  size: number;
  /** The first target; a key the pool compares, opaque to it. */
  target: string;
  create: (target: string) => Promise<U>;
  logger: Logger;
  /** After a failed create, wait this long before trying again (an image missing, an engine down). */
  retryMs?: number;
  /**
   * After a take, wait this long before creating its replacement, so the run just handed a unit
   * does not start beside a container being created (0: at once).
   */
  refillDelayMs?: number;
}

export class WarmPool<U extends WarmUnit> {
  private target: string;
  private readonly ready: U[] = [];
  private creating = 0;
  private used = 0;
  private closed = false;
  private backoffUntil = 0;
  private refillTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: WarmPoolOptions<U>) {
    this.target = opts.target;
  }

  stats(): WarmPoolStats {
    return { size: this.opts.size, ready: this.ready.length, used: this.used };
  }

  /**
   * A ready unit made for `target` for one run, or null (the caller starts a cold one). A run of
   * another target re-targets the pool: what it held is removed and it refills for the new one.
   */
  take(target: string): U | null {
    if (this.closed) return null;
    if (target !== this.target) {
      this.opts.logger.info({ from: this.target, to: target }, "warm pool: target changed, draining");
      this.target = target;
      this.removeAll(this.ready.splice(0));
      this.refillAfterTake();
      return null;
    }
    const unit = this.ready.shift() ?? null;
    if (unit) this.used++;
    this.refillAfterTake();
    return unit;
  }

  private refillAfterTake(): void {
    const delay = this.opts.refillDelayMs ?? 0;
    if (delay === 0) return this.refill();
    this.refillTimer ??= setTimeout(() => {
      this.refillTimer = undefined;
      this.refill();
    }, delay);
  }

  /** Starts creating units until `size` are ready or on their way (non-blocking). */
  refill(): void {
    if (this.closed || Date.now() < this.backoffUntil) return;
    while (this.ready.length + this.creating < this.opts.size) {
      this.creating++;
      const target = this.target;
      const job = this.opts
        .create(target)
        .then(async (unit) => {
          // Awaited, so close() (which awaits `pending`) returns only once such a unit is gone.
          if (this.closed || target !== this.target) return this.removeAll([unit]);
          this.ready.push(unit);
        })
        .catch((error: unknown) => {
          this.opts.logger.warn({ err: error, target }, "warm pool: could not start a container");
          const retryMs = this.opts.retryMs ?? 5_000;
          this.backoffUntil = Date.now() + retryMs;
          setTimeout(() => this.refill(), retryMs).unref();
        })
        .finally(() => {
          this.creating--;
          this.pending.delete(job);
          this.refill(); // a unit discarded for an old target leaves a place to fill
        });
      this.pending.add(job);
    }
  }

  /** Stops refilling and removes every unit, including those still being created. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillTimer);
    await Promise.allSettled([...this.pending]);
    await this.removeAll(this.ready.splice(0));
  }

  private removeAll(units: U[]): Promise<void> {
    return Promise.all(
      units.map((unit) =>
        unit.remove().catch((error: unknown) => {
          this.opts.logger.warn({ err: error, unit: unit.id }, "warm pool: could not remove a container");
        }),
      ),
    ).then(() => undefined);
  }
}
