// The delivery ledger's queries. A delivery is a row (subscription, event), written once when the
// event arrives (a redelivered event adds nothing). The worker leases due rows with SKIP LOCKED and
// pushes their next attempt past the lease, so two API replicas never send the same attempt; a crash
// mid-attempt leaves the row pending and it is attempted again when the lease ends.
import type { PrismaClient } from "../db/prisma";
import type { NotificationDelivery } from "../generated/prisma/client";
import type { WebhookPayload } from "@optio/contracts";

export type LeasedDelivery = NotificationDelivery & { url: string; secretEncrypted: string };

export type AttemptRecord = { status: number | null; error: string | null; excerpt: string | null };

export class DeliveryStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Ids of the subscriptions that want events of `type`. */
  async subscribersOf(type: string): Promise<string[]> {
    const rows = await this.prisma.notificationSubscription.findMany({
      where: { events: { hasSome: [type, "*"] } },
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  /** Records the event for each subscription; returns how many rows were new. */
  async record(payload: WebhookPayload, subscriptionIds: string[]): Promise<number> {
    const created = await this.prisma.notificationDelivery.createMany({
      data: subscriptionIds.map((subscriptionId) => ({
        subscriptionId,
        eventId: payload.id,
        eventType: payload.type,
        payload,
      })),
      skipDuplicates: true,
    });
    return created.count;
  }

  /** Leases up to `limit` due deliveries for `leaseMs`; the attempt counter goes up. */
  async lease(limit: number, leaseMs: number): Promise<LeasedDelivery[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      UPDATE notification_deliveries SET attempts = attempts + 1,
             next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000}::float8), updated_at = now()
       WHERE id IN (
             SELECT id FROM notification_deliveries
              WHERE state = 'pending' AND next_attempt_at <= now()
              ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    if (rows.length === 0) return [];
    const deliveries = await this.prisma.notificationDelivery.findMany({
      where: { id: { in: rows.map((row) => row.id) } },
      include: { subscription: { select: { url: true, secretEncrypted: true } } },
      orderBy: { createdAt: "asc" },
    });
    return deliveries.map(({ subscription, ...delivery }) => ({ ...delivery, ...subscription }));
  }

  /** A 2xx answer. (A subscription deleted meanwhile took its rows with it: nothing to update.) */
  async delivered(id: string, attempt: AttemptRecord): Promise<void> {
    await this.prisma.notificationDelivery.updateMany({
      where: { id },
      data: { ...columns(attempt), state: "delivered", deliveredAt: new Date() },
    });
  }

  /** A failed attempt: tried again at `retryAt`, or given up when null. */
  async failed(id: string, attempt: AttemptRecord, retryAt: Date | null): Promise<void> {
    await this.prisma.notificationDelivery.updateMany({
      where: { id },
      data: { ...columns(attempt), ...(retryAt ? { nextAttemptAt: retryAt } : { state: "failed" }) },
    });
  }
}

const columns = (attempt: AttemptRecord) => ({
  lastStatus: attempt.status,
  lastError: attempt.error,
  responseExcerpt: attempt.excerpt,
});
