// Sends due deliveries (see delivery.store.ts): one signed POST per attempt, outside any database
// transaction. The secret is decrypted per attempt and never logged; the target URL passes the SSRF
// guard again, since what a host name resolves to can change after the subscription was made.
import type { Logger } from "pino";
import { PassLoop } from "../background/pass-loop";
import { AppError } from "../errors";
import type { SecretCipher } from "../secrets/secret-cipher";
import type { DeliveryStore, LeasedDelivery } from "./delivery.store";
import { nextAttemptAt, type RetrySettings } from "./retry-policy";
import { sendWebhook, type SendResult } from "./webhook-sender";
import { secretContext, signDelivery } from "./webhook-signature";
import type { WebhookUrlGuard } from "./webhook-url";

export type DeliveryOutcome = "delivered" | "retry" | "failed";

export type DeliverySettings = {
  intervalMs: number;
  timeoutMs: number;
  retry: RetrySettings;
};

const BATCH = 10;

export class DeliveryWorker extends PassLoop {
  constructor(
    private readonly options: {
      store: DeliveryStore;
      cipher: SecretCipher;
      urls: WebhookUrlGuard;
      logger: Logger;
      settings: DeliverySettings;
      onOutcome?: (outcome: DeliveryOutcome) => void;
    },
  ) {
    super({ intervalMs: options.settings.intervalMs, logger: options.logger, name: "webhook delivery" });
  }

  override async drain(): Promise<void> {
    const { store, settings } = this.options;
    // The lease outlives the HTTP timeout, so no other replica takes the row while it is in flight.
    const leaseMs = settings.timeoutMs * 2 + 5_000;
    for (;;) {
      const due = await store.lease(BATCH, leaseMs);
      if (due.length === 0) return;
      await Promise.all(due.map((delivery) => this.attempt(delivery)));
    }
  }

  private async attempt(delivery: LeasedDelivery): Promise<void> {
    const { store, logger, settings } = this.options;
    const log = logger.child({
      deliveryId: delivery.id,
      subscriptionId: delivery.subscriptionId,
      attempt: delivery.attempts,
    });
    const result = await this.send(delivery);
    const record = {
      status: result.status,
      error: result.ok ? null : result.error,
      excerpt: result.excerpt,
    };
    let outcome: DeliveryOutcome;
    if (result.ok) {
      await store.delivered(delivery.id, record);
      outcome = "delivered";
    } else {
      const retryAt = nextAttemptAt(delivery.attempts, delivery.createdAt, new Date(), settings.retry);
      await store.failed(delivery.id, record, retryAt);
      outcome = retryAt ? "retry" : "failed";
      log.warn({ status: result.status, reason: result.error, retryAt }, "webhook delivery failed");
    }
    this.options.onOutcome?.(outcome);
  }

  private async send(delivery: LeasedDelivery): Promise<SendResult> {
    let url: string;
    let secret: string;
    try {
      url = await this.options.urls.check(delivery.url, "url");
      secret = this.options.cipher.decrypt(
        delivery.secretEncrypted,
        secretContext(delivery.subscriptionId),
      ).value;
    } catch (error) {
      const reason = error instanceof AppError ? error.message : "signing secret unreadable";
      return { ok: false, status: null, error: reason, excerpt: null };
    }
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    return sendWebhook(
      {
        url,
        body,
        headers: {
          "x-optio-event": delivery.eventType,
          "x-optio-delivery": delivery.id,
          "x-optio-timestamp": String(timestamp),
          "x-optio-signature": signDelivery(secret, timestamp, body),
        },
      },
      this.options.settings.timeoutMs,
    );
  }
}
