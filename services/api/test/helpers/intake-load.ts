// Intake under load for the fault tests: `clients` loops POSTing tasks back to back until stopped,
// recording every answer (status, and the task id of each 201), and reading back which tasks' `created`
// events reached the events stream.
import type { NatsConnection } from "@nats-io/nats-core";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type supertest from "supertest";
import { EVENTS_STREAM, type EventEnvelope } from "@optio/contracts";

export type IntakeLoad = {
  /** Every answer so far, in arrival order. */
  readonly answers: { status: number; taskId?: string }[];
  createdIds: () => string[];
  /** 201s after the `from`-th answer. */
  createdSince: (from: number) => number;
  stop: () => Promise<void>;
};

export function startIntakeLoad(
  http: ReturnType<typeof supertest>,
  token: string,
  options: { clients: number; repoUrl: string },
): IntakeLoad {
  const answers: { status: number; taskId?: string }[] = [];
  let stopped = false;
  let sent = 0;
  const client = async () => {
    while (!stopped) {
      const n = ++sent;
      const res = await http
        .post("/api/tasks")
        .set("authorization", `Bearer ${token}`)
        .send({ title: `load ${n}`, prompt: "p", repoUrl: options.repoUrl, agentType: "shell" })
        .catch((err: unknown) => ({ status: 0, body: { error: String(err) } }));
      answers.push({ status: res.status, taskId: res.status === 201 ? res.body.task.id : undefined });
      // While the database is down the answers are instant: do not spin.
      if (res.status !== 201) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const running = Promise.all(Array.from({ length: options.clients }, client));
  return {
    answers,
    createdIds: () => answers.flatMap((answer) => (answer.taskId ? [answer.taskId] : [])),
    createdSince: (from) => answers.slice(from).filter((answer) => answer.status === 201).length,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/** Status → how many answers had it. */
export function statusCounts(answers: readonly { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** Task id → how many `task.created` events the events stream holds for it (read from the start). */
export async function createdEventCounts(nats: NatsConnection): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const info = await (await jetstreamManager(nats)).streams.info(EVENTS_STREAM);
  if (info.state.messages === 0) return counts;
  const consumer = await jetstream(nats).consumers.get(EVENTS_STREAM, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  for await (const message of messages) {
    const event = message.json<EventEnvelope>();
    if (event.type === "task.created") {
      const id = event.data.taskId as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    if (message.info.pending === 0) break;
  }
  await messages.close();
  return counts;
}
