import { randomUUID } from "node:crypto";
import type { z } from "zod";
import {
  subjects,
  type RepoEventPayloads,
  type SecretEventPayloads,
  type TaskEventPayloads,
} from "@optio/contracts";
import type { PrismaClient, Tx } from "../db/prisma";

/** Entity → event name (past-tense fact) → the Zod schema of its payload, as contracts declare them. */
type EventCatalogue = {
  task: typeof TaskEventPayloads;
  repo: typeof RepoEventPayloads;
  secret: typeof SecretEventPayloads;
};

/**
 * One lifecycle event: the entity, an event name that exists for it, and exactly the payload the
 * contracts declare for that name (a wrong name or payload does not compile).
 */
export type DomainEvent = {
  [E in keyof EventCatalogue]: {
    [N in keyof EventCatalogue[E]]: {
      entity: E;
      entityId: string;
      event: N;
      data: z.input<EventCatalogue[E][N] & z.ZodType>;
    };
  }[keyof EventCatalogue[E]];
}[keyof EventCatalogue];

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
        subject: subjects.entityEvent(event.entity, event.entityId, event.event as string),
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
