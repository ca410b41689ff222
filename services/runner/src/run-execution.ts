// One claimed run attempt, start to finish: plan → driver start → stream output as log batches,
// metered against the run's caps (stopped at the first crossed) → heartbeats and timeout → outcome →
// result and exited reports → cleanup. While it runs, a person's messages reach an agent that reads
// them (LiveInput).
import type { Logger } from "pino";
import { Redactor } from "@optio/core";
import {
  continuationPrompt,
  getAdapter,
  renderEvent,
  type AgentFailure,
  type AgentSummary,
} from "@optio/agents";
import type { RunSpec } from "@optio/contracts";
import type { RunnerConfig } from "./config";
import { DriverError, type Driver, type RunExit, type RunHandle } from "./driver";
import { forEachLine } from "./lines";
import { LogBatcher } from "./log-batcher";
import type { StopCause } from "@optio/core";
import { decideOutcome, parseResultLine, stoppedOutcome, type EntrypointResult } from "./outcome";
import { planRun, PlanError, SESSION_OUT_FILE, type GitCredentialValue } from "./run-plan";
import type { AgentSessions, KeptSessions } from "./agent-sessions";
import type { RunReporter } from "./run-reporter";
import type { PriceTable } from "./price-table";
import { RunMeter, type BudgetCaps, type MeterTotals } from "./run-meter";
import { LiveInput, type Delivery } from "./live-input";

export interface RunExecutionOptions {
  spec: RunSpec;
  config: RunnerConfig;
  driver: Driver;
  reporter: RunReporter;
  logger: Logger;
  gitCredentials: Record<string, GitCredentialValue>;
  /** What the agent's tokens cost (the runner's one table). */
  prices: PriceTable;
  observer?: RunObserver;
  /** Where agent sessions are kept between a task's runs; without it a resume starts anew. */
  sessions?: AgentSessions;
}

/** What metrics see of a run: its container start latency, how it ended and what it spent. */
export interface RunObserver {
  containerStarted(seconds: number): void;
  runEnded(reason: string, spend: { agentType: string; metered: MeterTotals }): void;
}

const SYSTEM_PREFIX = "[optio] ";
/** After the run exits, how long its output streams may take to drain. */
const DRAIN_MS = 5000;
/** How long a message for a run whose container is still being started waits for it. */
const START_WAIT_MS = 2000;

export class RunExecution {
  readonly runId: string;
  readonly attempt: number;
  private handle: RunHandle | undefined;
  private stopCause: StopCause | null = null;
  /** The stop's own message (a budget stop: the cap and the spend). */
  private stopDetail: string | null = null;
  private stopGraceMs: number;
  private finished: Promise<void> | undefined;
  /** Why the runner stopped the agent itself (stop cause `agent_failed`). */
  private agentFailure: AgentFailure | null = null;
  /** Optio's own lines for the run's log, written before the agent's output once it starts. */
  private readonly notes: string[] = [];
  /** The agent's stdin, when it reads messages while it runs and the driver can write to it. */
  private live: LiveInput | undefined;
  private exited = false;
  private readonly started: Promise<void>;
  private settleStarted!: () => void;

  constructor(private readonly opts: RunExecutionOptions) {
    this.runId = opts.spec.runId;
    this.attempt = opts.spec.attempt;
    this.stopGraceMs = opts.config.OPTIO_RUNNER_STOP_GRACE_MS;
    this.started = new Promise((resolve) => (this.settleStarted = resolve));
  }

  /** Runs the attempt; resolves when it has exited and its final reports are queued. */
  run(): Promise<void> {
    this.finished ??= this.execute().finally(() => {
      this.exited = true;
      this.settleStarted();
    });
    return this.finished;
  }

  /**
   * A person's message for the running agent: written to its stdin (see LiveInput), or not, with
   * the reason. A run whose container is still being started is waited for a moment.
   */
  async message(text: string, options: { interrupt: boolean; id: string }): Promise<Delivery> {
    const delivery = await this.deliver(text, options);
    this.opts.logger.info({ messageId: options.id, ...delivery }, "message for the agent");
    return delivery;
  }

  private async deliver(text: string, options: { interrupt: boolean; id: string }): Promise<Delivery> {
    const { spec, driver } = this.opts;
    const not = (reason: string): Delivery => ({ delivered: false, interrupted: false, reason });
    if (!getAdapter(spec.agentType).input) return not(`${spec.agentType} reads no messages while it runs`);
    if (!this.handle && !this.exited) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.started,
        new Promise((resolve) => (timer = setTimeout(resolve, START_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    if (this.exited) return not("the run has ended");
    if (!this.handle) return not("the run's container is still starting");
    if (!this.live) return not(`the ${driver.name} driver cannot write to a running agent`);
    return this.live.send(text, options);
  }

  /** Stops the run (SIGTERM, grace, SIGKILL). The first cause wins. */
  stop(cause: StopCause, graceMs = this.opts.config.OPTIO_RUNNER_STOP_GRACE_MS, detail?: string): void {
    if (this.stopCause) return;
    this.stopCause = cause;
    this.stopDetail = detail ?? null;
    this.stopGraceMs = graceMs;
    this.opts.logger.info({ cause, graceMs, detail }, "stopping run");
    if (this.handle)
      void this.handle.stop(graceMs).catch((error) => this.opts.logger.warn({ err: error }, "stop failed"));
  }

  private async execute(): Promise<void> {
    const { config, driver, reporter, logger } = this.opts;
    const { spec, kept } = await this.withSessions(this.opts.spec);
    const startedAt = Date.now();
    const failBeforeStart = (code: DriverError["code"], message: string) => {
      const stopped = this.stopCause ? stoppedOutcome(this.stopCause, this.stopDetail) : null;
      logger.warn({ code, message }, "run could not start");
      this.opts.observer?.runEnded(stopped?.reason ?? "error", {
        agentType: spec.agentType,
        metered: { costUsd: null, inputTokens: null, outputTokens: null, turns: 0 },
      });
      void reporter.send({
        kind: "exited",
        exitCode: null,
        reason: stopped?.reason ?? "error",
        oomKilled: false,
        durationMs: Date.now() - startedAt,
        error: stopped?.error ?? { code, message: message.slice(0, 2000) },
      });
    };

    let plan;
    try {
      plan = planRun(spec, {
        config,
        paths: driver.paths(spec.runId, spec.attempt),
        gitCredentials: this.opts.gitCredentials,
        sessionArchive: kept?.archive,
      });
    } catch (error) {
      if (error instanceof PlanError) return failBeforeStart("INVALID_SPEC", error.message);
      throw error;
    }
    if (this.stopCause) return failBeforeStart("CANCELLED", "stopped before the run started");

    let handle: RunHandle;
    const startRequestedAt = Date.now();
    try {
      handle = await driver.start(plan);
      this.opts.observer?.containerStarted((Date.now() - startRequestedAt) / 1000);
    } catch (error) {
      const code = error instanceof DriverError ? error.code : "CONTAINER_FAILED";
      return failBeforeStart(code, (error as Error).message);
    }
    this.handle = handle;
    const input = getAdapter(spec.agentType).input;
    if (input && handle.write && handle.endInput)
      this.live = new LiveInput({
        input,
        write: (data) => handle.write!(data),
        endInput: () => handle.endInput!(),
      });
    this.settleStarted();
    logger.info({ unit: handle.id, image: driver.isolated ? plan.image : null }, "run started");
    void reporter.send({
      kind: "started",
      containerId: handle.id,
      driver: driver.name,
      image: driver.isolated ? plan.image : null,
    });
    if (this.stopCause) void handle.stop(this.stopGraceMs).catch(() => {});

    const heartbeat = setInterval(
      () => void reporter.send({ kind: "heartbeat" }),
      config.OPTIO_RUNNER_HEARTBEAT_MS,
    );
    const timeout = setTimeout(() => this.stop("timeout"), plan.timeoutMs);
    const caps: BudgetCaps = { maxCostUsd: spec.maxCostUsd ?? null, maxTurns: spec.maxTurns ?? null };
    const { exit, entrypoint, summary, metered, lines } = await this.pump(handle, plan.secrets, caps).finally(
      () => {
        clearInterval(heartbeat);
        clearTimeout(timeout);
        this.live?.ended();
      },
    );
    // Before the result is reported: the task's next run may be claimed as soon as it is applied.
    await this.keepSessions(handle, summary, kept);

    const outcome = decideOutcome({
      agentType: spec.agentType,
      branchName: spec.branchName,
      exit,
      stopCause: this.stopCause,
      stopDetail: this.stopDetail,
      entrypoint,
      summary: { ...summary, failure: this.agentFailure ?? summary.failure },
      secretNames: Object.keys(spec.secretEnv),
      caps,
      metered,
    });
    // Remove the container first: once `exited` is reported, nothing of the run is left running.
    await handle
      .dispose()
      .catch((error) => logger.warn({ err: error }, "could not remove the run's container"));
    void reporter.send({ kind: "result", ...outcome.result });
    void reporter.send({ kind: "exited", ...outcome.exited, durationMs: Date.now() - startedAt });
    this.opts.observer?.runEnded(outcome.exited.reason, { agentType: spec.agentType, metered });
    logger.info(
      {
        exit,
        reason: outcome.exited.reason,
        error: outcome.exited.error?.code,
        lines,
        pushed: outcome.result.pushed,
        costUsd: metered.costUsd,
        turns: metered.turns,
      },
      "run exited",
    );
  }

  /**
   * A resume needs its session in the new container: the task's kept sessions are restored into
   * it; when the session is not among them, the run starts a new session told to continue from
   * the branch, and its log says so.
   */
  private async withSessions(spec: RunSpec): Promise<{ spec: RunSpec; kept: KeptSessions | null }> {
    const { sessions, logger } = this.opts;
    const wanted = spec.resumeSessionId;
    if (!wanted || getAdapter(spec.agentType).sessionPaths.length === 0) return { spec, kept: null };
    let kept: KeptSessions | null = null;
    try {
      kept = (await sessions?.load(spec.taskId)) ?? null;
    } catch (error) {
      logger.warn({ err: error }, "could not load the task's agent sessions");
    }
    if (kept?.sessionIds.includes(wanted)) return { spec, kept };
    const why = kept ? "it is not among the task's kept sessions" : "no session is kept for this task";
    this.notes.push(
      `session ${wanted} cannot be restored (${why}): continuing from the branch in a new session`,
    );
    const prompt = continuationPrompt({
      taskPrompt: spec.taskPrompt ?? null,
      prompt: spec.prompt,
      branchName: spec.branchName,
    });
    return { spec: { ...spec, resumeSessionId: null, prompt }, kept };
  }

  /**
   * A refused credential is not worth the CLI's retries (Claude Code 2.1 retries a 401 ten times,
   * over minutes): the run is stopped at the first, and fails with AGENT_AUTH_FAILED.
   */
  private onApiRetry(status: number | null, message: string): void {
    if (status !== 401 && status !== 403) return;
    this.agentFailure ??= { kind: "api", status, message };
    this.stop("agent_failed");
  }

  /** Keeps the sessions the agent left (with those it was given) for the task's next run. */
  private async keepSessions(handle: RunHandle, summary: AgentSummary, kept: KeptSessions | null) {
    const { sessions, spec, logger } = this.opts;
    if (!sessions || !handle.readRunFile || !summary.sessionId) return;
    try {
      const archive = await handle.readRunFile(SESSION_OUT_FILE, sessions.maxBytes);
      if (!archive) {
        logger.warn(
          { sessionId: summary.sessionId },
          "the agent's sessions were not packed, or are too large to keep",
        );
        return;
      }
      await sessions.save(spec.taskId, archive, [...(kept?.sessionIds ?? []), summary.sessionId]);
    } catch (error) {
      logger.warn({ err: error }, "could not keep the agent's sessions");
    }
  }

  /**
   * Streams stdout/stderr into log batches until the run exits and its streams drain, metering the
   * agent's events as they arrive: the first cap crossed stops the run.
   */
  private async pump(handle: RunHandle, secrets: string[], caps: BudgetCaps) {
    const { spec, config, reporter } = this.opts;
    const meter = new RunMeter({
      prices: this.opts.prices,
      agentType: spec.agentType,
      model: spec.model ?? null,
      caps,
    });
    const redactor = new Redactor(secrets);
    const redact = (text: string) => redactor.redact(text);
    const parser = getAdapter(spec.agentType).createParser();
    const batcher = new LogBatcher({
      maxLines: config.OPTIO_RUNNER_LOG_BATCH_LINES,
      maxDelayMs: config.OPTIO_RUNNER_LOG_BATCH_MS,
      flush: (lines) => void reporter.send({ kind: "log", lines }),
    });
    const now = () => new Date().toISOString();
    const note = (content: string) => batcher.add({ stream: "system", type: "system", time: now(), content });
    for (const line of this.notes) note(line);
    let entrypoint: EntrypointResult | null = null;

    const stdout = forEachLine(handle.stdout, (line) => {
      const result = parseResultLine(line);
      if (result) {
        entrypoint = result;
        return;
      }
      const events = parser.line(line);
      if (events === null) {
        batcher.add({ stream: "stdout", type: "stdout", time: now(), content: redact(line) });
        return;
      }
      for (const event of events) {
        if (event.type === "api_retry") this.onApiRetry(event.status, event.message);
        this.live?.observe(event);
        const rendered = renderEvent(event);
        if (rendered)
          batcher.add({
            stream: "stdout",
            type: rendered.type,
            time: now(),
            content: redact(rendered.content),
            ...(rendered.data ? { data: redactor.redactDeep(rendered.data) } : {}),
          });
        const breach = meter.observe(event);
        for (const model of meter.newFallbacks())
          note(`no price for model ${redact(model)}: metered at the price table's default entry`);
        if (breach) {
          note(`stopping the run: ${breach.message}`);
          this.stop("budget", undefined, breach.message);
        }
      }
    });
    const stderr = forEachLine(handle.stderr, (line) => {
      if (line.startsWith(SYSTEM_PREFIX))
        batcher.add({
          stream: "system",
          type: "system",
          time: now(),
          content: redact(line.slice(SYSTEM_PREFIX.length)),
        });
      else batcher.add({ stream: "stderr", type: "stderr", time: now(), content: redact(line) });
    });

    let exit: RunExit;
    try {
      exit = await handle.wait();
    } catch (error) {
      this.opts.logger.error({ err: error }, "lost track of the run");
      exit = { exitCode: null, oomKilled: false };
    }
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([stdout, stderr]).catch(() => {}),
      new Promise((resolve) => (drainTimer = setTimeout(resolve, DRAIN_MS))),
    ]);
    clearTimeout(drainTimer);
    batcher.flush();
    return {
      exit,
      entrypoint: entrypoint as EntrypointResult | null,
      summary: parser.summary(),
      metered: meter.totals(),
      lines: batcher.count,
    };
  }
}
