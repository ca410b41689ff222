// Runs task changes in one transaction (retried on deadlock / serialization failure) and sends the
// runner signals it accumulated once it has committed.
import type { PrismaClient } from "../db/prisma";
import type { Outbox } from "../events/outbox";
import type { RunSignals } from "./run-signals";
import type { AfterCommit, Work } from "./task-machine";

const RETRYABLE = new Set(["P2034", "40P01", "40001"]);
const MAX_TRIES = 4;

function isRetryable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const { code, cause } = err as { code?: unknown; cause?: unknown };
  if (typeof code === "string" && RETRYABLE.has(code)) return true;
  // The pg driver adapter wraps the database error; its SQLSTATE is on the cause or in the message.
  if (cause && cause !== err && isRetryable(cause)) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === "string" && /deadlock detected|could not serialize access/i.test(message);
}

export class TaskUnitOfWork {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;
  private readonly signals: RunSignals;

  constructor(options: { prisma: PrismaClient; outbox: Outbox; signals: RunSignals }) {
    this.prisma = options.prisma;
    this.outbox = options.outbox;
    this.signals = options.signals;
  }

  private send(after: AfterCommit): void {
    for (const run of after.cancelRuns) this.signals.cancelRun(run);
    if (after.wakeup) this.signals.wakeup();
  }

  async run<T>(body: (work: Work) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const after = { cancelRuns: [] as Work["after"]["cancelRuns"], wakeup: false };
      try {
        const result = await this.outbox.transaction((tx) => body({ tx, after }));
        this.send(after);
        return result;
      } catch (err) {
        if (attempt >= MAX_TRIES || !isRetryable(err)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
      }
    }
  }
}
