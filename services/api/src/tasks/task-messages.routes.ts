// /api/tasks/:id/messages: a person's messages for the task's agent (task-message.service.ts).
// Registered inside the task routes, so it is guarded as the other task actions are.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { MessageListResponse, SendMessageBody, SendMessageResponse, TaskIdParams } from "@optio/contracts";
import { currentUser } from "../auth/auth.plugin";
import { errorResponses } from "../http/error-responses";
import type { TaskServices } from "./task-services";
import { toMessageView } from "./task-messages.store";

const errors = errorResponses(400, 401, 403, 404, 409, 429);
const tags = ["tasks"];
/** Messages a task takes per minute (counted by each API replica), as the reference allows. */
export const MESSAGES_PER_TASK_PER_MINUTE = 10;

export const taskMessagesRoutes: FastifyPluginAsyncZod<{ services: TaskServices }> = async (
  app,
  { services },
) => {
  const { messages } = services;
  const send = {
    schema: {
      tags,
      summary:
        "Send the task's agent a message: live to a running agent that reads messages, else kept for " +
        "the task's next run; a needs_attention, failed, pr_opened or cancelled task is resumed with it",
      params: TaskIdParams,
      body: SendMessageBody,
      response: { 202: SendMessageResponse, ...errors },
    },
    config: {
      rateLimit: {
        max: MESSAGES_PER_TASK_PER_MINUTE,
        timeWindow: "1 minute",
        keyGenerator: (request: { params: unknown }) =>
          `task-messages:${(request.params as { id?: string }).id ?? ""}`,
      },
    },
  };

  // `/message` is the reference's path.
  for (const path of ["/tasks/:id/messages", "/tasks/:id/message"]) {
    app.post(path, send, async (request, reply) => {
      const sent = await messages.send(request.params.id, request.body, currentUser(request).id);
      return reply.status(202).send({
        message: toMessageView(sent.message),
        delivery: sent.delivery,
        interrupted: sent.interrupted,
        reason: sent.reason,
      });
    });
  }

  app.get(
    "/tasks/:id/messages",
    {
      schema: {
        tags,
        summary: "The messages sent to the task's agent, oldest first, with how each was delivered",
        params: TaskIdParams,
        response: { 200: MessageListResponse, ...errors },
      },
    },
    async (request) => ({ messages: (await messages.list(request.params.id)).map(toMessageView) }),
  );
};
