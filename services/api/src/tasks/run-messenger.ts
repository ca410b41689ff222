// A person's message to the runner holding a run (core NATS request/reply): the runner writes it to
// the running agent's input and answers whether it did. No answer (the runner is gone or slow)
// counts as not delivered: the message is then kept for the task's next run.
import type { NatsConnection } from "@nats-io/nats-core";
import { RunMessageReply, subjects, type RunMessage } from "@optio/contracts";
import type { Logger } from "pino";

export interface RunMessenger {
  send(runnerId: string, message: RunMessage): Promise<RunMessageReply>;
}

/** How long the runner may take to write a message (it waits up to 2 s for a starting container). */
const REPLY_TIMEOUT_MS = 5_000;

export class NatsRunMessenger implements RunMessenger {
  private readonly nats: NatsConnection;
  private readonly logger: Logger;

  constructor(options: { nats: NatsConnection; logger: Logger }) {
    this.nats = options.nats;
    this.logger = options.logger;
  }

  async send(runnerId: string, message: RunMessage): Promise<RunMessageReply> {
    const subject = subjects.runMessage(runnerId, message.runId);
    try {
      const reply = await this.nats.request(subject, JSON.stringify(message), { timeout: REPLY_TIMEOUT_MS });
      const parsed = RunMessageReply.safeParse(reply.json());
      if (parsed.success) return parsed.data;
      this.logger.warn({ subject, issues: parsed.error.issues }, "invalid reply to a run message");
      return { delivered: false, interrupted: false, reason: `runner ${runnerId} gave an invalid answer` };
    } catch (err) {
      const gone = /no responders/i.test(String(err)) || (err as { code?: string }).code === "503";
      this.logger.info({ err, subject }, "run message not answered");
      return {
        delivered: false,
        interrupted: false,
        reason: gone ? `runner ${runnerId} is not connected` : `runner ${runnerId} did not answer in time`,
      };
    }
  }
}
