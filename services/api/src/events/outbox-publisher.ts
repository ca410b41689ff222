import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { EventEnvelope } from "@optio/contracts";
import { inTransaction } from "../db/hot-sql";
import { poolOf, type PrismaClient } from "../db/prisma";
import { Prisma } from "../generated/prisma/client";

const BATCH = 200;
/**
 * How long a committed event may wait for others to share its batch. A batch costs two round trips
 * and a JetStream ack whatever its size, and it runs beside the claims and creates that poked it:
 * back-to-back claims each poking at once would each pay for a batch of one.
 */
const COALESCE_MS = 20;

/**
 * Moves committed outbox rows to JetStream in commit order. The row id is the message id, so
 * a row published but not yet marked (crash in between) is deduplicated by the stream when it is
 * published again. Rows are locked with SKIP LOCKED so API replicas share the work.
 */
export class OutboxPublisher {
  private readonly prisma: PrismaClient;
  private readonly js: JetStreamClient;
  private readonly logger: Logger;
  private readonly pollMs: number;
  private readonly source: string;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (performance.now() time). */
  private dueAt = Infinity;
  private running: Promise<unknown> | undefined;
  private again = false;
  private stopped = true;

  constructor(options: {
    prisma: PrismaClient;
    nats: NatsConnection;
    logger: Logger;
    pollMs?: number;
    source?: string;
  }) {
    this.prisma = options.prisma;
    this.js = jetstream(options.nats);
    this.logger = options.logger;
    this.pollMs = options.pollMs ?? 1_000;
    this.source = options.source ?? "optio-api";
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Publish soon (within COALESCE_MS): called after a transaction that recorded events has
   * committed. A batch already due sooner is not pushed back.
   */
  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else if (this.dueAt > performance.now() + COALESCE_MS) this.schedule(COALESCE_MS);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.dueAt = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      this.dueAt = Infinity;
      this.running = this.drain().then(() => {
        this.running = undefined;
        if (this.stopped) return;
        const more = this.again;
        this.again = false;
        this.schedule(more ? COALESCE_MS : this.pollMs);
      });
    }, delayMs);
  }

  /** Publishes until no unpublished rows remain; returns the number published. */
  async drain(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const published = await this.publishBatch();
        total += published;
        if (published < BATCH) return total;
      }
    } catch (err) {
      this.logger.warn({ err }, "outbox publish failed; will retry");
      return total;
    }
  }

  /**
   * One batch on the pg pool (db/hot-sql.ts), in two round trips: BEGIN and the read, then the
   * mark and COMMIT. Every created task and claim passes through here.
   * Its commit does not wait for the WAL flush: a mark lost in a crash only publishes those rows
   * again, and the stream drops them as duplicates of their message id (10-minute window; events
   * carry their id for consumers too). So a claim's or intake's durable commit never queues behind
   * this one's flush.
   */
  private publishBatch(): Promise<number> {
    return inTransaction(
      poolOf(this.prisma),
      async (tx) => {
        const rows = await tx.query<OutboxRow>(Prisma.sql`
        SELECT seq, id, subject, type, data, created_at FROM outbox_events
         WHERE published_at IS NULL ORDER BY seq LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`);
        await Promise.all(
          rows.map((row) => {
            const envelope: EventEnvelope = {
              id: row.id,
              type: row.type,
              time: row.created_at.toISOString(),
              source: this.source,
              subject: row.subject,
              data: row.data,
            };
            return this.js.publish(row.subject, JSON.stringify(envelope), { msgID: row.id, timeout: 5_000 });
          }),
        );
        if (rows.length > 0) {
          await tx.commitWith(Prisma.sql`
          UPDATE outbox_events SET published_at = now()
           WHERE seq = ANY(${rows.map((row) => row.seq)}::bigint[])`);
        }
        return rows.length;
      },
      { waitForFlush: false },
    );
  }
}

type OutboxRow = {
  seq: bigint;
  id: string;
  subject: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
};
