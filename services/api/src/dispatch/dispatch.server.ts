// The API's side of the runner protocol over NATS: answers claims and heartbeats (queue group, so
// one replica answers each), notes announcements, and consumes run reports from JetStream with a
// durable consumer, so reports sent while no API was up are applied when one comes back. Every
// runner message names its runner twice, in the subject (which NATS permissions tie to the
// runner's identity) and in the payload; a message where the two differ is refused.
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { AckPolicy, DeliverPolicy, jetstream, type ConsumerMessages } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import {
  ClaimRequest,
  RUNS_STREAM,
  RunReport,
  RunnerAnnounced,
  RunnerHeartbeat,
  runnerIdOfSubject,
  subjects,
  type ClaimReply,
  type RunCancel,
} from "@optio/contracts";
import type { Logger } from "pino";
import type { z } from "zod";
import { ensureDurableConsumer, ensureRunsStream } from "../nats/connection";
import type { LiveHints } from "../logs/live-hints";
import type { ClaimService } from "./claim.service";
import type { LeaseReaper } from "./lease-reaper";
import type { ReportApplier } from "./report-applier";
import type { RunnerRegistry } from "./runner-registry";

const QUEUE = "optio-api";
const REPORTS_CONSUMER = "optio-api-reports";

export class DispatchServer {
  private readonly nats: NatsConnection;
  private readonly claims: ClaimService;
  private readonly reports: ReportApplier;
  private readonly registry: RunnerRegistry;
  private readonly reaper: LeaseReaper;
  private readonly hints: LiveHints;
  private readonly logger: Logger;
  private subscriptions: Subscription[] = [];
  private consumer: ConsumerMessages | undefined;
  private consuming: Promise<void> | undefined;

  constructor(options: {
    nats: NatsConnection;
    claims: ClaimService;
    reports: ReportApplier;
    registry: RunnerRegistry;
    reaper: LeaseReaper;
    hints: LiveHints;
    logger: Logger;
  }) {
    this.nats = options.nats;
    this.claims = options.claims;
    this.reports = options.reports;
    this.registry = options.registry;
    this.reaper = options.reaper;
    this.hints = options.hints;
    this.logger = options.logger;
  }

  async start(): Promise<void> {
    this.respond(subjects.runnerClaim("*"), ClaimRequest, async (request): Promise<ClaimReply> => {
      const runs = await this.claims.claim(request);
      return { run: runs[0] ?? null, runs };
    });
    this.respond(subjects.runnerHeartbeat("*"), RunnerHeartbeat, (beat) => this.registry.heartbeat(beat));
    this.respond(subjects.runnerAnnounce("*"), RunnerAnnounced, async (announced) => {
      await this.registry.record(announced);
      // A runner that just started holds nothing: runs it had before are lost, requeue them now.
      await this.reaper.forfeitLeasesOf(announced.runnerId);
      return null;
    });
    await this.consumeReports();
    this.reaper.start();
  }

  async stop(): Promise<void> {
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.subscriptions = [];
    await this.consumer?.close();
    await this.consuming;
    await this.reaper.stop();
  }

  /** Subscribes in the API queue group; parses with the contract; replies when the caller asked. */
  private respond<S extends z.ZodType<{ runnerId: string }>>(
    subject: string,
    schema: S,
    handle: (message: z.output<S>) => Promise<object | null>,
  ): void {
    const sub = this.nats.subscribe(subject, {
      queue: QUEUE,
      callback: (err, msg) => {
        if (err) return this.logger.warn({ err, subject }, "subscription error");
        void this.handle(msg, schema, handle);
      },
    });
    this.subscriptions.push(sub);
  }

  private async handle<S extends z.ZodType<{ runnerId: string }>>(
    msg: Msg,
    schema: S,
    handle: (message: z.output<S>) => Promise<object | null>,
  ) {
    let body: unknown;
    try {
      body = msg.json();
    } catch {
      body = undefined;
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      this.logger.warn({ subject: msg.subject, issues: parsed.error.issues }, "invalid message rejected");
      if (msg.reply) msg.respond(JSON.stringify({ error: "invalid message" }));
      return;
    }
    if (parsed.data.runnerId !== runnerIdOfSubject(msg.subject)) {
      this.logger.warn(
        { subject: msg.subject, runnerId: parsed.data.runnerId },
        "runner message naming another runner rejected",
      );
      if (msg.reply) msg.respond(JSON.stringify({ error: "runner id does not match the subject" }));
      return;
    }
    try {
      const reply = await handle(parsed.data);
      if (msg.reply) msg.respond(JSON.stringify(reply ?? {}));
    } catch (err) {
      this.logger.error({ err, subject: msg.subject }, "handling a runner message failed");
      // No reply: the runner's request times out and it retries.
    }
  }

  private async consumeReports(): Promise<void> {
    await ensureRunsStream(this.nats);
    await ensureDurableConsumer(this.nats, RUNS_STREAM, {
      durable_name: REPORTS_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(30_000),
      max_ack_pending: 1000,
    });
    const consumer = await jetstream(this.nats).consumers.get(RUNS_STREAM, REPORTS_CONSUMER);
    this.consumer = await consumer.consume({ max_messages: 200 });
    const messages = this.consumer;
    this.consuming = (async () => {
      for await (const message of messages) {
        const parsed = RunReport.safeParse(safeJson(() => message.json()));
        if (!parsed.success || parsed.data.runnerId !== runnerIdOfSubject(message.subject)) {
          this.logger.warn(
            {
              subject: message.subject,
              issues: parsed.error?.issues ?? "runner id does not match the subject",
            },
            "invalid run report dropped",
          );
          message.term();
          continue;
        }
        try {
          const result = await this.reports.apply(parsed.data);
          if (result === "early") {
            message.nak(200); // an earlier report of this run is still on its way
            continue;
          }
          if (result === "stale" || result === "cancelled") {
            const reason = result === "cancelled" ? "cancelled" : "superseded";
            const { runnerId, runId, attempt } = parsed.data;
            this.fence(runnerId, { runId, attempt, reason });
          }
          if (result === "applied" && parsed.data.kind === "log") this.hints.logsStored(parsed.data.taskId);
          message.ack();
        } catch (err) {
          this.logger.error({ err, runId: parsed.data.runId }, "applying a run report failed; redelivering");
          message.nak(1_000);
        }
      }
    })();
  }

  /** Tells the runner of a superseded or cancelled attempt to stop its container. */
  private fence(runnerId: string, command: RunCancel): void {
    this.nats.publish(subjects.runCancel(runnerId, command.runId), JSON.stringify(command));
  }
}

function safeJson(read: () => unknown): unknown {
  try {
    return read();
  } catch {
    return undefined;
  }
}
