// The runner: slots, the claim loop (wakeups + slow poll), cancel and fencing commands, messages
// for running agents, orphan cleanup, presence, graceful shutdown. Runs go through RunExecution;
// the engine through a Driver.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import {
  ClaimReply,
  ClaimRequest,
  RunCancel,
  RunMessage,
  RunMessageReply,
  subjects,
  type RunnerInfo,
  type RunSpec,
  type StopReason,
} from "@optio/contracts";
import type { RunnerConfig } from "./config";
import type { Driver } from "./driver";
import type { StopCause } from "@optio/core";
import { Presence } from "./presence";
import { RunExecution, type RunObserver } from "./run-execution";
import { PriceTable } from "./price-table";
import type { GitCredentialValue } from "./run-plan";
import { RunReporter, type ReportSink } from "./run-reporter";
import { AgentSessions } from "./agent-sessions";

export interface RunnerOptions {
  config: RunnerConfig;
  nc: NatsConnection;
  driver: Driver;
  sink: ReportSink;
  logger: Logger;
  version: string;
  gitCredentials?: Record<string, GitCredentialValue>;
  /** Observes container starts and run outcomes (runner-metrics.ts). */
  metrics?: RunObserver;
}

interface HeldRun {
  execution: RunExecution;
  reporter: RunReporter;
  done: Promise<void>;
}

const STOP_CAUSE: Record<StopReason, StopCause> = {
  cancelled: "cancelled",
  superseded: "superseded",
  timeout: "timeout",
  lease_lost: "lease_lost",
};

export class Runner {
  private readonly runs = new Map<string, HeldRun>();
  /** Reporters with reports not yet stored (flushed, or abandoned, before exit). */
  private readonly reporters = new Set<RunReporter>();
  private readonly subscriptions: Subscription[] = [];
  private readonly presence: Presence;
  private readonly sessions: AgentSessions;
  private readonly startedAt = new Date().toISOString();
  /** What the runs' tokens cost: the defaults under OPTIO_RUNNER_MODEL_PRICES. */
  private readonly prices: PriceTable;
  private stopping = false;
  private dirty = false;
  /** The id of a claim whose reply has not arrived yet (see claim()). */
  private pendingClaimId: string | undefined;
  private waiter: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /**
   * Runs that ended here but that the API may not have closed yet (its report applier can lag):
   * heartbeats keep naming them, so their leases do not expire while their final reports wait in
   * the stream. Dropped when a heartbeat reply says the run is no longer open, or after a while.
   */
  private readonly finishing = new Map<string, { attempt: number; until: number }>();
  /** Stops for runs not held (yet): a cancel can arrive before the claim reply that names the run. */
  private readonly earlyStops = new Map<
    string,
    { attempt: number | undefined; cause: StopCause; graceMs: number | undefined; until: number }
  >();

  constructor(private readonly opts: RunnerOptions) {
    this.sessions = new AgentSessions({
      nc: opts.nc,
      ttlMs: opts.config.OPTIO_RUNNER_SESSION_TTL_HOURS * 3_600_000,
      maxBytes: opts.config.OPTIO_RUNNER_SESSION_MAX_MB * 1024 * 1024,
    });
    this.prices = new PriceTable({ overrides: opts.config.OPTIO_RUNNER_MODEL_PRICES });
    this.presence = new Presence({
      nc: opts.nc,
      logger: opts.logger,
      intervalMs: opts.config.OPTIO_RUNNER_HEARTBEAT_MS,
      snapshot: () => ({
        info: this.info(),
        runs: this.heldRuns(),
        stopping: this.stopping,
      }),
      onStop: (stop) => {
        for (const s of stop) {
          if (this.finishing.get(s.runId)?.attempt === s.attempt) this.finishing.delete(s.runId);
          this.stopRun(s.runId, s.attempt, STOP_CAUSE[s.reason]);
        }
      },
    });
  }

  /** Runs whose leases this runner renews: running ones and finishing ones (see `finishing`). */
  private heldRuns(): { runId: string; attempt: number }[] {
    const now = Date.now();
    for (const [runId, f] of this.finishing) if (f.until < now) this.finishing.delete(runId);
    return [
      ...[...this.runs.values()].map(({ execution }) => ({
        runId: execution.runId,
        attempt: execution.attempt,
      })),
      ...[...this.finishing].map(([runId, f]) => ({ runId, attempt: f.attempt })),
    ];
  }

  info(): RunnerInfo {
    const { config, driver, version } = this.opts;
    return {
      runnerId: config.OPTIO_RUNNER_ID,
      host: hostname(),
      version,
      driver: driver.name,
      isolated: driver.isolated,
      slots: { total: config.OPTIO_RUNNER_SLOTS, busy: this.runs.size },
      agentTypes: config.OPTIO_RUNNER_AGENT_TYPES,
      labels: config.OPTIO_RUNNER_LABELS,
      ...(driver.poolStats?.() ? { pool: driver.poolStats() } : {}),
      startedAt: this.startedAt,
    };
  }

  /** Reports of all runs (also finished ones) not yet stored in JetStream. */
  get reportsBuffered(): number {
    let total = 0;
    for (const reporter of this.reporters) total += reporter.pending;
    return total;
  }

  get busy(): number {
    return this.runs.size;
  }

  async start(): Promise<void> {
    const { nc, logger } = this.opts;
    await this.removeOrphans();
    this.opts.driver.warm?.();
    this.subscriptions.push(nc.subscribe(subjects.dispatchWakeup(), { callback: () => this.wake() }));
    this.subscriptions.push(
      // Cancels of this runner's runs only (the API sends each to the runner holding the run).
      nc.subscribe(subjects.runCancel(this.opts.config.OPTIO_RUNNER_ID, "*"), {
        callback: (error, msg) => {
          if (error) return;
          const parsed = RunCancel.safeParse(msg.json());
          if (!parsed.success) return void logger.warn({ subject: msg.subject }, "invalid cancel ignored");
          const { runId, attempt, reason, graceMs } = parsed.data;
          this.stopRun(runId, attempt, STOP_CAUSE[reason], graceMs);
        },
      }),
    );
    this.subscriptions.push(
      nc.subscribe(subjects.runMessage(this.opts.config.OPTIO_RUNNER_ID, "*"), {
        callback: (error, msg) => {
          if (error) return;
          let parsed;
          try {
            parsed = RunMessage.safeParse(msg.json());
          } catch {
            parsed = { success: false } as const;
          }
          if (!parsed.success) return void logger.warn({ subject: msg.subject }, "invalid message ignored");
          void this.deliver(parsed.data).then((reply) => msg.respond(JSON.stringify(reply)));
        },
      }),
    );
    this.presence.start();
    logger.info(
      { slots: this.opts.config.OPTIO_RUNNER_SLOTS, driver: this.opts.driver.name },
      "runner announced",
    );
    this.loop = this.claimLoop();
  }

  /**
   * After a NATS reconnect: a heartbeat at once (renewing the leases of the runs still going) and a
   * claim. Not an announce: that tells the API this runner holds nothing any more.
   */
  reconnected(): void {
    void this.presence.beat();
    this.wake();
  }

  /** A runner starts owning nothing: whatever carries its labels is a leftover of a previous process. */
  private async removeOrphans(): Promise<void> {
    const units = await this.opts.driver.list();
    for (const unit of units) {
      if (unit.runId && this.runs.has(unit.runId)) continue;
      this.opts.logger.warn(
        { unit: unit.id, runId: unit.runId, attempt: unit.attempt },
        "removing orphaned run",
      );
      await this.opts.driver
        .remove(unit.id)
        .catch((error) => this.opts.logger.error({ err: error }, "could not remove orphan"));
    }
  }

  /** A person's message for the agent of a run held here (see RunExecution.message). */
  private async deliver(message: RunMessage): Promise<RunMessageReply> {
    const held = this.runs.get(message.runId);
    if (!held || held.execution.attempt !== message.attempt)
      return { delivered: false, interrupted: false, reason: "the run is not running on its runner" };
    try {
      return await held.execution.message(message.text, {
        interrupt: message.interrupt,
        id: message.messageId,
      });
    } catch (error) {
      this.opts.logger.warn({ err: error, runId: message.runId }, "could not deliver a message");
      return { delivered: false, interrupted: false, reason: "the runner could not deliver it" };
    }
  }

  private stopRun(runId: string, attempt: number | undefined, cause: StopCause, graceMs?: number): void {
    const held = this.runs.get(runId);
    if (!held) {
      // The stop may overtake our own claim's reply: remembered, so the run never starts here.
      this.pruneEarlyStops();
      this.earlyStops.set(runId, { attempt, cause, graceMs, until: Date.now() + EARLY_STOP_TTL_MS });
      return;
    }
    if (attempt !== undefined && attempt !== held.execution.attempt) return;
    held.execution.stop(cause, graceMs);
  }

  private pruneEarlyStops(): void {
    const now = Date.now();
    for (const [runId, stop] of this.earlyStops) if (stop.until < now) this.earlyStops.delete(runId);
  }

  private wake(): void {
    this.dirty = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private sleepUntilWoken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async claimLoop(): Promise<void> {
    const { config, logger } = this.opts;
    while (!this.stopping) {
      const free = config.OPTIO_RUNNER_SLOTS - this.runs.size;
      if (free <= 0) {
        await this.sleepUntilWoken(config.OPTIO_RUNNER_POLL_MS);
        continue;
      }
      this.dirty = false;
      let outcome: RunSpec[] | "error";
      try {
        outcome = await this.claim(free);
      } catch (error) {
        // No API listening (503) is routine while the API restarts; anything else is worth seeing.
        const code = (error as { code?: string }).code;
        if (code === "503" || /no responders/i.test(String(error))) logger.debug("claim: no API answering");
        else logger.warn({ err: error }, "claim request failed");
        outcome = "error";
      }
      if (this.stopping) {
        // Claimed while shutting down: the lease expires and the API requeues it.
        if (outcome !== "error")
          for (const spec of outcome)
            logger.warn({ runId: spec.runId }, "claimed during shutdown; left to lease expiry");
        break;
      }
      if (outcome !== "error" && outcome.length > 0) {
        for (const spec of outcome) this.launch(spec);
        continue;
      }
      if (this.dirty) continue;
      // No work: sleep until a wakeup (or the slow poll); API unreachable: retry sooner.
      await this.sleepUntilWoken(
        outcome === "error" ? Math.min(1000, config.OPTIO_RUNNER_POLL_MS) : config.OPTIO_RUNNER_POLL_MS,
      );
    }
  }

  /** Up to `freeSlots` runs in one round trip. */
  private async claim(freeSlots: number): Promise<RunSpec[]> {
    const { config, nc, logger } = this.opts;
    // Kept until a reply arrives: a retry after a lost reply gets the same run back.
    this.pendingClaimId ??= randomUUID();
    const request = ClaimRequest.parse({
      runnerId: config.OPTIO_RUNNER_ID,
      claimId: this.pendingClaimId,
      freeSlots,
      agentTypes: config.OPTIO_RUNNER_AGENT_TYPES,
      labels: config.OPTIO_RUNNER_LABELS,
      batch: true,
    });
    const reply = await nc.request(subjects.runnerClaim(config.OPTIO_RUNNER_ID), JSON.stringify(request), {
      timeout: config.OPTIO_RUNNER_CLAIM_TIMEOUT_MS,
    });
    this.pendingClaimId = undefined;
    const parsed = ClaimReply.safeParse(reply.json());
    if (!parsed.success) {
      logger.error({ issues: parsed.error.issues }, "invalid claim reply ignored");
      return [];
    }
    // An API that predates `runs` sends only `run`.
    const { run, runs } = parsed.data;
    return runs.length > 0 ? runs : run ? [run] : [];
  }

  /** Starts a claimed run in a free slot. */
  launch(spec: RunSpec): void {
    const { config, driver, logger, sink } = this.opts;
    if (this.runs.has(spec.runId))
      return void logger.warn({ runId: spec.runId }, "run already held; duplicate ignored");
    const runLogger = logger.child({ runId: spec.runId, taskId: spec.taskId, attempt: spec.attempt });
    const reporter = new RunReporter({
      sink,
      logger: runLogger,
      ids: {
        runId: spec.runId,
        taskId: spec.taskId,
        attempt: spec.attempt,
        runnerId: config.OPTIO_RUNNER_ID,
      },
    });
    const execution = new RunExecution({
      spec,
      config,
      driver,
      reporter,
      logger: runLogger,
      gitCredentials: this.opts.gitCredentials ?? {},
      prices: this.prices,
      observer: this.opts.metrics,
      sessions: this.sessions,
    });
    const early = this.earlyStops.get(spec.runId);
    if (early && (early.attempt === undefined || early.attempt === spec.attempt)) {
      this.earlyStops.delete(spec.runId);
      execution.stop(early.cause, early.graceMs); // before run(): no container is created
    }
    const done = execution
      .run()
      .catch((error) => runLogger.error({ err: error }, "run crashed"))
      .finally(() => {
        this.runs.delete(spec.runId);
        this.finishing.set(spec.runId, { attempt: spec.attempt, until: Date.now() + FINISHING_MAX_MS });
        void reporter.flushed().finally(() => this.reporters.delete(reporter));
        this.wake();
      });
    this.reporters.add(reporter);
    this.runs.set(spec.runId, { execution, reporter, done });
    void this.presence.beat();
  }

  /**
   * Stops claiming; lets running runs finish for up to OPTIO_RUNNER_SHUTDOWN_MS, then stops the
   * rest (reported as `shutdown`, so the API requeues them) and flushes their reports.
   */
  async shutdown(): Promise<void> {
    const { config, logger } = this.opts;
    if (this.stopping) return;
    this.stopping = true;
    this.wake();
    await this.loop;
    void this.presence.beat();
    const all = () => Promise.all([...this.runs.values()].map((r) => r.done));
    if (this.runs.size > 0) {
      logger.info(
        { runs: this.runs.size, deadlineMs: config.OPTIO_RUNNER_SHUTDOWN_MS },
        "waiting for runs to finish",
      );
      await Promise.race([all(), sleep(config.OPTIO_RUNNER_SHUTDOWN_MS)]);
    }
    for (const { execution } of this.runs.values()) execution.stop("shutdown");
    await Promise.race([all(), sleep(config.OPTIO_RUNNER_STOP_GRACE_MS + 5000)]);
    await Promise.race([Promise.all([...this.reporters].map((r) => r.flushed())), sleep(5000)]);
    for (const reporter of this.reporters) reporter.abandon();
    await this.opts.driver
      .close?.()
      .catch((error: unknown) => logger.warn({ err: error }, "could not release the driver"));
    this.presence.stop();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }
}

/** How long a stop for a run not (yet) held here is remembered. */
const EARLY_STOP_TTL_MS = 60_000;

/** How long a finished run's lease is renewed at most, waiting for the API to apply its reports. */
const FINISHING_MAX_MS = 10 * 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
