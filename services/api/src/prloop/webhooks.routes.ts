// POST /api/webhooks/github: public (GitHub holds no Optio credential) but verified by signature.
// The body is kept as the raw string GitHub signed; it is parsed only after verification.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorResponse } from "@optio/contracts";
import type { WebhookService } from "./webhook.service";

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export const webhooksRoutes: FastifyPluginAsyncZod<{ webhooks: WebhookService }> = async (
  app,
  { webhooks },
) => {
  // This plugin's own JSON parser (the app's parses and turns an empty body into {}): the raw text.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) =>
    done(null, body),
  );
  app.post(
    "/webhooks/github",
    {
      config: { public: true },
      schema: {
        tags: ["webhooks"],
        summary: "GitHub webhook deliveries (signed with GITHUB_WEBHOOK_SECRET)",
        response: {
          200: z.object({ ok: z.literal(true), duplicate: z.literal(true).optional() }),
          202: z.object({
            accepted: z.boolean(),
            ignored: z.literal(true).optional(),
            tasks: z.number().int(),
          }),
          400: ErrorResponse,
          401: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const outcome = await webhooks.receive({
        event: header(request.headers["x-github-event"]),
        deliveryId: header(request.headers["x-github-delivery"]),
        signature: header(request.headers["x-hub-signature-256"]),
        rawBody: typeof request.body === "string" ? request.body : "",
      });
      return reply.status(outcome.status).send(outcome.body);
    },
  );
};
