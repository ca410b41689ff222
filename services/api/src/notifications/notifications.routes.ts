// /api/webhooks: outbound webhook subscriptions, admins only. POST /api/webhooks/github (inbound,
// prloop/webhooks.routes.ts) is a static route and wins over `/webhooks/:id`.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  CreateWebhookBody,
  CreateWebhookResponse,
  IdParams,
  OkResponse,
  WebhookDeliveryListQuery,
  WebhookDeliveryListResponse,
  WebhookListResponse,
  WebhookResponse,
} from "@optio/contracts";
import { currentUser, requireRole } from "../auth/auth.plugin";
import type { SubscriptionService } from "./subscription.service";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 403, 404);
const tags = ["notifications"];

export const notificationsRoutes: FastifyPluginAsyncZod<{ subscriptions: SubscriptionService }> = async (
  app,
  { subscriptions },
) => {
  const onRequest = requireRole("admin");

  app.post(
    "/webhooks",
    {
      onRequest,
      schema: {
        tags,
        summary: "Subscribe a URL to task events; the signing secret is in this response only",
        body: CreateWebhookBody,
        response: { 201: CreateWebhookResponse, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await subscriptions.create(request.body, currentUser(request).id)),
  );

  app.get(
    "/webhooks",
    {
      onRequest,
      schema: {
        tags,
        summary: "List webhook subscriptions",
        response: { 200: WebhookListResponse, ...errors },
      },
    },
    async () => ({ webhooks: await subscriptions.list() }),
  );

  app.get(
    "/webhooks/:id",
    {
      onRequest,
      schema: {
        tags,
        summary: "Show a webhook subscription",
        params: IdParams,
        response: { 200: WebhookResponse, ...errors },
      },
    },
    async (request) => ({ webhook: await subscriptions.get(request.params.id) }),
  );

  app.delete(
    "/webhooks/:id",
    {
      onRequest,
      schema: {
        tags,
        summary: "Delete a webhook subscription and its pending deliveries",
        params: IdParams,
        response: { 200: OkResponse, ...errors },
      },
    },
    async (request) => {
      await subscriptions.delete(request.params.id);
      return { ok: true as const };
    },
  );

  app.get(
    "/webhooks/:id/deliveries",
    {
      onRequest,
      schema: {
        tags,
        summary: "A subscription's deliveries, newest first",
        params: IdParams,
        querystring: WebhookDeliveryListQuery,
        response: { 200: WebhookDeliveryListResponse, ...errors },
      },
    },
    async (request) => subscriptions.deliveries(request.params.id, request.query),
  );
};
