import type { FastifyInstance } from "fastify";
import { z } from "zod";
import {
  type EventEntity,
  EventEnvelope,
  RepoEventPayloads,
  SecretEventPayloads,
  TaskEventPayloads,
} from "@optio/contracts";

type Payloads = Record<string, z.ZodType>;

function channels(entity: EventEntity, payloads: Payloads) {
  return Object.fromEntries(
    Object.entries(payloads).map(([event, data]) => [
      `optio.${entity}.{${entity}Id}.${event}`,
      {
        parameters: { [`${entity}Id`]: { schema: { type: "string", format: "uuid" } } },
        subscribe: {
          message: {
            name: `${entity}.${event}`,
            payload: z.toJSONSchema(EventEnvelope.extend({ type: z.literal(`${entity}.${event}`), data }), {
              io: "input",
            }),
          },
        },
      },
    ]),
  );
}

/** The AsyncAPI document of the lifecycle events, generated from the same Zod schemas the API uses. */
export function asyncApiDocument(version: string) {
  return {
    asyncapi: "2.6.0",
    info: {
      title: "Optio lifecycle events",
      version,
      description:
        "Published on the JetStream stream OPTIO_EVENTS; the envelope id is the message id (deduplicated).",
    },
    defaultContentType: "application/json",
    channels: {
      ...channels("task", TaskEventPayloads),
      ...channels("repo", RepoEventPayloads),
      ...channels("secret", SecretEventPayloads),
    },
  };
}

export function registerAsyncApi(app: FastifyInstance, version: string): void {
  const document = asyncApiDocument(version);
  app.get("/api/asyncapi.json", { config: { public: true }, schema: { hide: true } }, async () => document);
}
