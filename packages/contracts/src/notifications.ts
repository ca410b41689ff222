// Outbound notifications: URLs subscribed to task events, signed deliveries, their history.
// The signing secret is answered once, by the create call; nothing else ever carries it.
import { z } from "zod";
import { Pagination, Timestamp } from "./common";

/** The task events a subscription can ask for: a task reaching one of these states. */
export const NOTIFICATION_EVENT_TYPES = [
  "task.completed",
  "task.failed",
  "task.needs_attention",
  "task.pr_opened",
] as const;
export const NotificationEventType = z.enum(NOTIFICATION_EVENT_TYPES);
export type NotificationEventType = z.infer<typeof NotificationEventType>;

/** An event type, or `*` for all of them. */
export const NotificationEventFilter = z.union([NotificationEventType, z.literal("*")]);

export const CreateWebhookBody = z.strictObject({
  url: z.string().trim().min(1).max(2048),
  events: z
    .array(NotificationEventFilter)
    .min(1)
    .max(NOTIFICATION_EVENT_TYPES.length + 1)
    .transform((events) => [...new Set(events)]),
  description: z.string().trim().max(500).optional(),
});
export type CreateWebhookBody = z.output<typeof CreateWebhookBody>;

export const Webhook = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  createdBy: z.uuid().nullable(),
  createdAt: Timestamp,
});
export type Webhook = z.infer<typeof Webhook>;

export const CreateWebhookResponse = z.object({
  webhook: Webhook,
  secret: z.string().describe("Signs every delivery (X-Optio-Signature); shown only in this response"),
});
export const WebhookResponse = z.object({ webhook: Webhook });
export const WebhookListResponse = z.object({ webhooks: z.array(Webhook) });

export const WebhookDeliveryState = z.enum(["pending", "delivered", "failed"]);

export const WebhookDelivery = z.object({
  id: z.uuid().describe("Also the X-Optio-Delivery header: the same on every attempt"),
  eventId: z.uuid(),
  eventType: z.string(),
  state: WebhookDeliveryState,
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable().describe("HTTP status of the last attempt"),
  lastError: z.string().nullable(),
  nextAttemptAt: Timestamp.nullable().describe("null once delivered or given up"),
  deliveredAt: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** Newest first. */
export const WebhookDeliveryListQuery = Pagination;
export const WebhookDeliveryListResponse = z.object({
  deliveries: z.array(WebhookDelivery),
  total: z.number().int(),
});

/** The JSON body of every delivery. */
export const WebhookPayload = z.object({
  id: z.uuid().describe("The event's id (one event may reach several subscriptions)"),
  type: NotificationEventType,
  time: Timestamp,
  data: z.object({
    taskId: z.uuid(),
    fromState: z.string().nullable(),
    toState: z.string(),
    trigger: z.string(),
    message: z.string().nullable(),
    stateVersion: z.number().int(),
    task: z
      .object({
        title: z.string(),
        repoUrl: z.string(),
        prUrl: z.string().nullable(),
        prNumber: z.number().int().nullable(),
        errorMessage: z.string().nullable(),
      })
      .nullable()
      .describe("The task as it was when the delivery was recorded (null if deleted by then)"),
  }),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;
