// The runner's Prometheus series, served on OPTIO_RUNNER_METRICS_PORT (startMetricsServer): slots
// busy and total, container start latency, runs by outcome, what their agents spent (the meter's
// figures, counted as each run ends), run reports not yet stored in JetStream.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RunObserver } from "./run-execution";
import type { MeterTotals } from "./run-meter";

/** What the gauges read at scrape time: the Runner itself. */
export type RunnerGauges = { readonly busy: number; readonly reportsBuffered: number };

export class RunnerMetrics implements RunObserver {
  readonly registry = new Registry();
  private readonly starts: Histogram;
  private readonly runs: Counter<"outcome">;
  private readonly cost: Counter<"agent">;
  private readonly tokens: Counter<"agent" | "kind">;
  private source: RunnerGauges = { busy: 0, reportsBuffered: 0 };

  constructor(options: { runnerId: string; slots: number }) {
    const { registry } = this;
    const read = () => this.source;
    registry.setDefaultLabels({ runner: options.runnerId });
    collectDefaultMetrics({ register: registry, prefix: "optio_runner_" });
    new Gauge({
      name: "optio_runner_slots_total",
      help: "Runs this runner executes at once",
      registers: [registry],
    }).set(options.slots);
    new Gauge({
      name: "optio_runner_slots_busy",
      help: "Slots holding a run",
      registers: [registry],
      collect() {
        this.set(read().busy);
      },
    });
    new Gauge({
      name: "optio_runner_reports_buffered",
      help: "Run reports queued and not yet stored in JetStream",
      registers: [registry],
      collect() {
        this.set(read().reportsBuffered);
      },
    });
    this.starts = new Histogram({
      name: "optio_runner_container_start_seconds",
      help: "Driver start (create + start the container) latency",
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    this.runs = new Counter({
      name: "optio_runner_runs_total",
      help: "Runs ended on this runner, by exit reason",
      labelNames: ["outcome"],
      registers: [registry],
    });
    this.cost = new Counter({
      name: "optio_runner_agent_cost_usd_total",
      help: "USD the runs ended on this runner spent, as metered from their agents' streams, by agent",
      labelNames: ["agent"],
      registers: [registry],
    });
    this.tokens = new Counter({
      name: "optio_runner_agent_tokens_total",
      help: "Tokens the runs ended on this runner used, by agent and kind (input, output)",
      labelNames: ["agent", "kind"],
      registers: [registry],
    });
  }

  attach(source: RunnerGauges): void {
    this.source = source;
  }

  containerStarted(seconds: number): void {
    this.starts.observe(seconds);
  }

  runEnded(reason: string, spend: { agentType: string; metered: MeterTotals }): void {
    this.runs.inc({ outcome: reason });
    const agent = spend.agentType;
    const { costUsd, inputTokens, outputTokens } = spend.metered;
    if (costUsd !== null) this.cost.inc({ agent }, costUsd);
    if (inputTokens !== null) this.tokens.inc({ agent, kind: "input" }, inputTokens);
    if (outputTokens !== null) this.tokens.inc({ agent, kind: "output" }, outputTokens);
  }
}
