import { z } from "zod";

/** The common envelope of every lifecycle event published on JetStream. */
export const EventEnvelope = z.object({
  id: z.uuid().describe("Event id; also the JetStream message id, so republishing deduplicates"),
  type: z.string().describe("e.g. task.created, task.state_changed, repo.deleted"),
  time: z.iso.datetime({ offset: true }),
  source: z.string().describe("The emitting service, e.g. optio-api"),
  subject: z.string().describe("The NATS subject it was published on"),
  data: z.record(z.string(), z.unknown()),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;
