import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { NatsConnection } from "@nats-io/nats-core";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import {
  EVENTS_STREAM,
  EventStreamQuery,
  IdParams,
  TaskLogStreamQuery,
  TaskLogsQuery,
  TaskLogsResponse,
} from "@optio/contracts";
import type { LiveHints } from "./live-hints";
import type { LogService } from "./log.service";
import { resumeFrom, SseStream } from "./sse";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 404);
const POLL_MS = 1_000;

export const logsRoutes: FastifyPluginAsyncZod<{
  logs: LogService;
  hints: LiveHints;
  nats: NatsConnection;
}> = async (app, { logs, hints, nats }) => {
  app.get(
    "/tasks/:id/logs",
    {
      schema: {
        tags: ["logs"],
        summary: "A task's run logs, oldest first, from a cursor",
        params: IdParams,
        querystring: TaskLogsQuery,
        response: { 200: TaskLogsResponse, ...errors },
      },
    },
    async (request) => {
      await logs.assertTask(request.params.id);
      return logs.page(request.params.id, request.query);
    },
  );

  app.get(
    "/tasks/:id/logs/stream",
    {
      schema: {
        tags: ["logs"],
        summary: "Live logs (Server-Sent Events); resumes after Last-Event-ID without gaps or repeats",
        params: IdParams,
        querystring: TaskLogStreamQuery,
      },
    },
    async (request, reply) => {
      const taskId = request.params.id;
      await logs.assertTask(taskId);
      const sse = new SseStream(request, reply);
      let cursor = resumeFrom(request, request.query.after);
      let wake: () => void = () => {};
      const unsubscribe = hints.onLogs(taskId, () => wake());
      try {
        while (!sse.isClosed) {
          const page = await logs.page(taskId, { ...request.query, after: cursor, limit: 500 });
          for (const entry of page.logs) sse.send(entry.id, "log", entry);
          if (page.logs.length > 0) cursor = page.logs[page.logs.length - 1]!.id;
          if (page.nextCursor) continue;
          await Promise.race([
            new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, POLL_MS);
            }),
            sse.closed,
          ]);
        }
      } finally {
        unsubscribe();
        sse.end();
      }
    },
  );

  app.get(
    "/events/stream",
    {
      schema: {
        tags: ["events"],
        summary: "Live lifecycle events (Server-Sent Events), optionally of one task; resumable",
        querystring: EventStreamQuery,
      },
    },
    async (request, reply) => {
      const { taskId, after } = request.query;
      if (taskId) await logs.assertTask(taskId);
      const resume = resumeFrom(request, after);
      const consumer = await jetstream(nats).consumers.get(EVENTS_STREAM, {
        // NATS 2.9 takes one filter subject (a string here, not the 2.10 list form).
        filter_subjects: taskId ? `optio.task.${taskId}.>` : undefined,
        ...(resume
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(resume) + 1 }
          : { deliver_policy: DeliverPolicy.New }),
      });
      const messages = await consumer.consume();
      const sse = new SseStream(request, reply);
      void sse.closed.then(() => messages.close());
      try {
        for await (const message of messages) {
          sse.send(String(message.seq), "event", message.json());
        }
      } finally {
        sse.end();
      }
    },
  );
};
