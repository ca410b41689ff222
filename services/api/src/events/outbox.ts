import { randomUUID } from "node:crypto";
import { subjects, type EventEntity } from "@optio/contracts";
import type { PrismaClient, Tx } from "../db/prisma";

export type DomainEvent = {
  entity: EventEntity;
  entityId: string;
  /** Past-tense fact: created, updated, deleted, state_changed, ... */
  event: string;
  data: Record<string, unknown>;
};

/**
 * Writes events in the same transaction as the change they announce. After commit the publisher
 * moves them to JetStream, so a crash between commit and publish loses nothing.
 */
export class Outbox {
  private readonly prisma: PrismaClient;
  private readonly onCommit: () => void;

  constructor(options: { prisma: PrismaClient; onCommit?: () => void }) {
    this.prisma = options.prisma;
    this.onCommit = options.onCommit ?? (() => {});
  }

  /** Records an event inside the caller's transaction. */
  async record(tx: Tx, event: DomainEvent): Promise<void> {
    await tx.outboxEvent.create({
      data: {
        id: randomUUID(),
        subject: subjects.entityEvent(event.entity, event.entityId, event.event),
        type: `${event.entity}.${event.event}`,
        data: event.data as object,
      },
    });
  }

  /** Wakes the publisher after outbox rows were committed outside transaction() (one statement). */
  committed(): void {
    this.onCommit();
  }

  /** Runs `work` in a transaction and wakes the publisher once it has committed. */
  async transaction<T>(
    work: (tx: Tx) => Promise<T>,
    options?: { isolationLevel?: "Serializable" },
  ): Promise<T> {
    const result = await this.prisma.$transaction(work, { ...options, timeout: 15_000 });
    this.onCommit();
    return result;
  }
}
