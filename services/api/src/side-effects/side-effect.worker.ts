// Performs wanted side effects (see side-effect.store.ts): one handler per purpose family, run
// outside any database transaction, so a platform outage never blocks report application. Failures
// are recorded with their reason and retried with back-off; permanent ones (auth, not found) stop
// after a few attempts and the handler's `giveUp` tells the task.
import type { Logger } from "pino";
import { PassLoop } from "../background/pass-loop";
import type { SideEffect } from "../generated/prisma/client";
import { isPlatformError } from "../platform/git-platform";
import type { Work } from "../tasks/task-machine";
import type { TaskUnitOfWork } from "../tasks/task-work";
import type { SideEffectStore } from "./side-effect.store";

export interface SideEffectHandler {
  /** Purposes it performs: exact, or a prefix ending in ":". */
  readonly purposes: string[];
  /** Does the effect (idempotently: look first) and returns what to record. */
  perform(effect: SideEffect): Promise<Record<string, unknown>>;
  /** Writes what the result means for the task, in the transaction that marks the effect done. */
  record?(work: Work, effect: SideEffect, result: Record<string, unknown>): Promise<void>;
  /** Called once when the effect is given up. */
  giveUp?(effect: SideEffect, reason: string): Promise<void>;
}

export type SideEffectSettings = {
  intervalMs: number;
  /** An attempt that has not finished after this long is attempted again. */
  leaseMs: number;
  maxAttempts: number;
  /** First retry delay; doubles per attempt. */
  retryBaseMs: number;
};

export const DEFAULT_SIDE_EFFECT_SETTINGS: SideEffectSettings = {
  intervalMs: 2_000,
  leaseMs: 60_000,
  maxAttempts: 8,
  retryBaseMs: 5_000,
};

export class SideEffectWorker extends PassLoop {
  constructor(
    private readonly options: {
      store: SideEffectStore;
      work: TaskUnitOfWork;
      handlers: SideEffectHandler[];
      logger: Logger;
      settings: SideEffectSettings;
    },
  ) {
    super({ intervalMs: options.settings.intervalMs, logger: options.logger, name: "side effects" });
  }

  override async drain(): Promise<void> {
    for (;;) {
      const due = await this.options.store.lease(10, this.options.settings.leaseMs);
      if (due.length === 0) return;
      for (const effect of due) await this.performOne(effect);
    }
  }

  private handlerFor(purpose: string): SideEffectHandler | undefined {
    return this.options.handlers.find((handler) =>
      handler.purposes.some((p) => (p.endsWith(":") ? purpose.startsWith(p) : purpose === p)),
    );
  }

  private async performOne(effect: SideEffect): Promise<void> {
    const { store, logger, settings } = this.options;
    const key = { taskId: effect.taskId, purpose: effect.purpose };
    const log = logger.child({ taskId: effect.taskId, purpose: effect.purpose, attempt: effect.attempts });
    const handler = this.handlerFor(effect.purpose);
    if (!handler) {
      await store.failed(key, `no handler for ${effect.purpose}`, null);
      return;
    }
    try {
      const result = await handler.perform(effect);
      await this.options.work.run(async (work) => {
        await handler.record?.(work, effect, result);
        await store.done(work.tx, key, result);
      });
      log.info("side effect done");
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const permanent =
        isPlatformError(error, "auth") ||
        isPlatformError(error, "not_configured") ||
        isPlatformError(error, "forbidden") ||
        isPlatformError(error, "not_found");
      const last = effect.attempts >= settings.maxAttempts || (permanent && effect.attempts >= 3);
      const retryAt = last ? null : new Date(Date.now() + settings.retryBaseMs * 2 ** (effect.attempts - 1));
      await store.failed(key, reason, retryAt);
      log.warn({ reason, retryAt }, "side effect failed");
      if (last) await handler.giveUp?.(effect, reason);
    }
  }
}
