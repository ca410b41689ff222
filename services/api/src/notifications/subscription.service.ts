// Webhook subscriptions: create (the secret is returned here and only here), list, show, delete,
// and a subscription's delivery history. The secret is stored encrypted and bound to the row's id.
import { randomUUID } from "node:crypto";
import type { CreateWebhookBody, Pagination, Webhook, WebhookDelivery } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { notFound } from "../errors";
import type { NotificationDelivery, NotificationSubscription } from "../generated/prisma/client";
import type { SecretCipher } from "../secrets/secret-cipher";
import { generateWebhookSecret, secretContext } from "./webhook-signature";
import type { WebhookUrlGuard } from "./webhook-url";

export class SubscriptionService {
  constructor(
    private readonly options: { prisma: PrismaClient; cipher: SecretCipher; urls: WebhookUrlGuard },
  ) {}

  async create(body: CreateWebhookBody, userId: string): Promise<{ webhook: Webhook; secret: string }> {
    const url = await this.options.urls.check(body.url, "body.url");
    const id = randomUUID();
    const secret = generateWebhookSecret();
    const row = await this.options.prisma.notificationSubscription.create({
      data: {
        id,
        url,
        events: body.events,
        description: body.description ?? null,
        secretEncrypted: this.options.cipher.encrypt(secret, secretContext(id)),
        createdBy: userId,
      },
    });
    return { webhook: toWebhook(row), secret };
  }

  async list(): Promise<Webhook[]> {
    const rows = await this.options.prisma.notificationSubscription.findMany({
      orderBy: { createdAt: "asc" },
    });
    return rows.map(toWebhook);
  }

  async get(id: string): Promise<Webhook> {
    return toWebhook(await this.find(id));
  }

  /** Deletes the subscription and its deliveries: nothing more is sent to it. */
  async delete(id: string): Promise<void> {
    const { count } = await this.options.prisma.notificationSubscription.deleteMany({ where: { id } });
    if (count === 0) throw missing(id);
  }

  async deliveries(id: string, page: Pagination): Promise<{ deliveries: WebhookDelivery[]; total: number }> {
    await this.find(id);
    const where = { subscriptionId: id };
    const [rows, total] = await Promise.all([
      this.options.prisma.notificationDelivery.findMany({
        where,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.limit,
        skip: page.offset,
      }),
      this.options.prisma.notificationDelivery.count({ where }),
    ]);
    return { deliveries: rows.map(toDelivery), total };
  }

  private async find(id: string): Promise<NotificationSubscription> {
    const row = await this.options.prisma.notificationSubscription.findUnique({ where: { id } });
    if (!row) throw missing(id);
    return row;
  }
}

const missing = (id: string) => notFound("WEBHOOK_NOT_FOUND", `Webhook ${id} not found`);

/** The public view: never the secret. */
function toWebhook(row: NotificationSubscription): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
  };
}

function toDelivery(row: NotificationDelivery): WebhookDelivery {
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType,
    state: row.state as WebhookDelivery["state"],
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    nextAttemptAt: row.state === "pending" ? row.nextAttemptAt.toISOString() : null,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}
