// Wires outbound notifications; services.ts (main and tests) calls createNotifications, main.ts
// starts and stops them with the API.
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { ApiConfig } from "../config";
import type { PrismaClient } from "../db/prisma";
import type { RepoUrlPolicy } from "../repos/repo-url";
import type { SecretCipher } from "../secrets/secret-cipher";
import { DeliveryStore } from "./delivery.store";
import { DeliveryWorker, type DeliveryOutcome } from "./delivery.worker";
import { NotificationEventConsumer } from "./event-consumer";
import { SubscriptionService } from "./subscription.service";
import { WebhookUrlGuard } from "./webhook-url";

export type Notifications = {
  subscriptions: SubscriptionService;
  consumer: NotificationEventConsumer;
  worker: DeliveryWorker;
  /** Starts consuming events and delivering. */
  start: () => Promise<void>;
  stop: () => Promise<void>;
};

export type NotificationOptions = {
  /** The durable consumer's name (tests give each API its own). */
  durableName: string;
  /** How often the worker looks for due deliveries besides being poked. */
  intervalMs: number;
  /** Observes each attempt's outcome (metrics). */
  onOutcome?: (outcome: DeliveryOutcome) => void;
};

export const DEFAULT_NOTIFICATION_OPTIONS: NotificationOptions = {
  durableName: "optio-notifications",
  intervalMs: 1_000,
};

export function createNotifications(deps: {
  config: Pick<
    ApiConfig,
    | "OPTIO_WEBHOOK_TIMEOUT_MS"
    | "OPTIO_WEBHOOK_RETRY_BASE_MS"
    | "OPTIO_WEBHOOK_RETRY_MAX_MS"
    | "OPTIO_WEBHOOK_MAX_AGE_MS"
  >;
  prisma: PrismaClient;
  nats: NatsConnection;
  cipher: SecretCipher;
  urlPolicy: RepoUrlPolicy;
  logger: Logger;
  options: NotificationOptions;
}): Notifications {
  const { config, prisma, options } = deps;
  const urls = new WebhookUrlGuard(deps.urlPolicy);
  const store = new DeliveryStore(prisma);
  const worker = new DeliveryWorker({
    store,
    cipher: deps.cipher,
    urls,
    logger: deps.logger,
    onOutcome: options.onOutcome,
    settings: {
      intervalMs: options.intervalMs,
      timeoutMs: config.OPTIO_WEBHOOK_TIMEOUT_MS,
      retry: {
        baseMs: config.OPTIO_WEBHOOK_RETRY_BASE_MS,
        maxDelayMs: config.OPTIO_WEBHOOK_RETRY_MAX_MS,
        maxAgeMs: config.OPTIO_WEBHOOK_MAX_AGE_MS,
      },
    },
  });
  const consumer = new NotificationEventConsumer({
    nats: deps.nats,
    prisma,
    store,
    durableName: options.durableName,
    logger: deps.logger,
    onRecorded: () => worker.poke(),
  });
  return {
    subscriptions: new SubscriptionService({ prisma, cipher: deps.cipher, urls }),
    consumer,
    worker,
    start: async () => {
      await consumer.start();
      worker.start();
    },
    stop: async () => {
      await consumer.stop();
      await worker.stop();
    },
  };
}
