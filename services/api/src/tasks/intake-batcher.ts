// Group commit of task intake: creates that arrive while the previous batch is being written are
// written together in one statement (one round trip, one transaction, one WAL flush), and each
// caller gets its own task back. A batch the database refuses is retried row by row, so one bad row
// fails only its own request; a database that is down fails them all at once (503s).
import type pg from "pg";
import { isDatabaseUnavailable } from "../db/db-errors";
import { insertTasks, type Created, type TaskInsert } from "./task-factory";

type Pending = { insert: TaskInsert; resolve: (task: Created) => void; reject: (err: unknown) => void };

export class IntakeBatcher {
  private readonly pool: pg.Pool;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly onCommitted: () => void;
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(options: {
    /** The pg pool under Prisma's adapter (db/prisma.ts poolOf): intake is a hot statement. */
    pool: pg.Pool;
    /** After each committed batch: wake the outbox publisher and the runners once. */
    onCommitted: () => void;
    maxBatch?: number;
    /** Batches written concurrently; more requests wait for one of them and join the next. */
    maxInFlight?: number;
  }) {
    this.pool = options.pool;
    this.onCommitted = options.onCommitted;
    this.maxBatch = options.maxBatch ?? 200;
    this.maxInFlight = options.maxInFlight ?? 2;
  }

  /** Inserts one task (with its run, history row and outbox event) in the next batch. */
  create(insert: TaskInsert): Promise<Created> {
    return new Promise((resolve, reject) => {
      this.queue.push({ insert, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // The rest of this event-loop turn's requests join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.inFlight++;
    try {
      await this.write(batch);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      const tasks = await insertTasks(
        this.pool,
        batch.map((pending) => pending.insert),
      );
      this.onCommitted();
      batch.forEach((pending, index) => pending.resolve(tasks[index]!));
    } catch (err) {
      if (batch.length === 1 || isDatabaseUnavailable(err)) {
        for (const pending of batch) pending.reject(err);
        return;
      }
      // Some row was refused: each on its own, so only that request fails.
      const results = await Promise.allSettled(
        batch.map((pending) => insertTasks(this.pool, [pending.insert])),
      );
      if (results.some((result) => result.status === "fulfilled")) this.onCommitted();
      results.forEach((result, index) => {
        if (result.status === "fulfilled") batch[index]!.resolve(result.value[0]!);
        else batch[index]!.reject(result.reason);
      });
    }
  }
}
