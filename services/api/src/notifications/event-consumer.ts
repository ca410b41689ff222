// Turns task events into deliveries: a durable JetStream pull consumer on the lifecycle-event stream
// (filtered to task state changes), shared by all API replicas. A message is acknowledged only after
// its delivery rows are committed; rows are keyed by (subscription, event id), so a redelivered
// message adds nothing. A new consumer starts at new events: history is not replayed to subscribers.
import { AckPolicy, DeliverPolicy, jetstream, type ConsumerMessages } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import {
  EVENTS_STREAM,
  EventEnvelope,
  NotificationEventType,
  TaskStateChangedEvent,
  subjects,
  type WebhookPayload,
} from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { ensureDurableConsumer } from "../nats/connection";
import type { DeliveryStore } from "./delivery.store";

export class NotificationEventConsumer {
  private messages: ConsumerMessages | undefined;
  private consuming: Promise<void> | undefined;

  constructor(
    private readonly options: {
      nats: NatsConnection;
      prisma: PrismaClient;
      store: DeliveryStore;
      /** The durable consumer's name (one per deployment: replicas share it). */
      durableName: string;
      logger: Logger;
      /** Called after new deliveries were recorded. */
      onRecorded: () => void;
    },
  ) {}

  async start(): Promise<void> {
    const { nats, durableName } = this.options;
    await ensureDurableConsumer(nats, EVENTS_STREAM, {
      durable_name: durableName,
      filter_subject: subjects.entityEvent("task", "*", "state_changed"),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      ack_wait: nanos(30_000),
      max_ack_pending: 500,
    });
    const consumer = await jetstream(nats).consumers.get(EVENTS_STREAM, durableName);
    const messages = await consumer.consume({ max_messages: 100 });
    this.messages = messages;
    this.consuming = (async () => {
      for await (const message of messages) {
        try {
          let body: unknown;
          try {
            body = message.json();
          } catch {
            body = undefined; // not JSON: not an event of ours
          }
          if ((await this.recordDeliveries(body)) > 0) this.options.onRecorded();
          message.ack();
        } catch (err) {
          this.options.logger.error({ err, subject: message.subject }, "recording webhook deliveries failed");
          message.nak(1_000);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.consuming;
  }

  /** Records a delivery per interested subscription of a state change they can ask for. */
  private async recordDeliveries(body: unknown): Promise<number> {
    const envelope = EventEnvelope.safeParse(body);
    if (!envelope.success) return 0;
    const change = TaskStateChangedEvent.safeParse(envelope.data.data);
    if (!change.success || change.data.fromState === change.data.toState) return 0;
    const type = NotificationEventType.safeParse(`task.${change.data.toState}`);
    if (!type.success) return 0;
    const subscribers = await this.options.store.subscribersOf(type.data);
    if (subscribers.length === 0) return 0;
    const task = await this.options.prisma.task.findUnique({
      where: { id: change.data.taskId },
      select: { title: true, repoUrl: true, prUrl: true, prNumber: true, errorMessage: true },
    });
    const { taskId, fromState, toState, trigger, message, stateVersion } = change.data;
    const payload: WebhookPayload = {
      id: envelope.data.id,
      type: type.data,
      time: envelope.data.time,
      data: { taskId, fromState, toState, trigger, message, stateVersion, task },
    };
    return this.options.store.record(payload, subscribers);
  }
}
