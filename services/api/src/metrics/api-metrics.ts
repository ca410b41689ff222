// The API's Prometheus series. HTTP timings are observed in process; everything about tasks, runs,
// the outbox and JetStream is read from Postgres/NATS at scrape time, so every replica reports the
// same truth and nothing is lost on restart.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from "prom-client";
import { RUNS_STREAM, EVENTS_STREAM } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import type { DailyBudget } from "../budgets/daily-budget";
import { DbHistogram } from "./db-histogram";

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const RUN_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly http: Histogram<"method" | "route" | "status">;
  private readonly notificationDeliveries: Counter<"outcome">;
  private budget: Pick<DailyBudget, "status"> | undefined;

  constructor(options: { prisma: PrismaClient; nats: NatsConnection }) {
    const { prisma, nats } = options;
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: "optio_api_" });
    this.http = new Histogram({
      name: "optio_http_request_duration_seconds",
      help: "HTTP requests by route template and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.notificationDeliveries = new Counter({
      name: "optio_notification_deliveries_total",
      help: "Outbound webhook attempts by this replica, by outcome (delivered, retry, failed: given up)",
      labelNames: ["outcome"],
      registers: [registry],
    });

    new Gauge({
      name: "optio_tasks",
      help: "Tasks by state",
      labelNames: ["state"],
      registers: [registry],
      async collect() {
        const rows = await prisma.task.groupBy({ by: ["state"], _count: { _all: true } });
        this.reset();
        for (const row of rows) this.set({ state: row.state }, row._count._all);
      },
    });
    new Gauge({
      name: "optio_queue_claimable",
      help: "Queued tasks a runner could claim now, by repository",
      labelNames: ["repo"],
      registers: [registry],
      async collect() {
        const rows = await prisma.task.groupBy({
          by: ["repoUrl"],
          where: { state: "queued" },
          _count: { _all: true },
        });
        this.reset();
        for (const row of rows) this.set({ repo: row.repoUrl }, row._count._all);
      },
    });
    new Gauge({
      name: "optio_outbox_backlog",
      help: "Events written to the outbox and not yet published to JetStream",
      registers: [registry],
      async collect() {
        this.set(await prisma.outboxEvent.count({ where: { publishedAt: null } }));
      },
    });
    new Gauge({
      name: "optio_outbox_publish_lag_seconds",
      help: "Age of the oldest unpublished outbox event (0 when none)",
      registers: [registry],
      async collect() {
        // By creation time, not seq: a row's seq is taken before its transaction commits, so a later
        // seq can hold an older event.
        const { _min } = await prisma.outboxEvent.aggregate({
          where: { publishedAt: null },
          _min: { createdAt: true },
        });
        const oldest = _min.createdAt;
        this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
      },
    });
    new Gauge({
      name: "optio_lease_expiries",
      help: "Runs closed because their lease expired (runner silent), over the runs kept",
      registers: [registry],
      async collect() {
        this.set(await prisma.run.count({ where: { errorCode: "LEASE_EXPIRED" } }));
      },
    });
    new Gauge({
      name: "optio_jetstream_consumer_pending",
      help: "Messages not yet delivered or acknowledged, per durable consumer",
      labelNames: ["stream", "consumer"],
      registers: [registry],
      async collect() {
        this.reset();
        const jsm = await jetstreamManager(nats);
        for (const stream of [RUNS_STREAM, EVENTS_STREAM]) {
          const consumers = await jsm.consumers
            .list(stream)
            .next()
            .catch(() => []);
          for (const info of consumers) {
            if (!info.config.durable_name) continue;
            this.set({ stream, consumer: info.name }, info.num_pending + info.num_ack_pending);
          }
        }
      },
    });

    // Spend: what results reported, from the rows the report applier adds them to (so every
    // replica counts the same, and a restart loses nothing).
    new Counter({
      name: "optio_agent_cost_usd_total",
      help: "USD runs spent (as their results reported), by repository and agent",
      labelNames: ["repo", "agent"],
      registers: [registry],
      async collect() {
        const rows = await prisma.repoSpendDay.groupBy({
          by: ["repoUrl", "agentType"],
          _sum: { costUsd: true },
        });
        this.reset();
        for (const row of rows)
          this.inc({ repo: row.repoUrl, agent: row.agentType }, row._sum.costUsd?.toNumber() ?? 0);
      },
    });
    new Counter({
      name: "optio_agent_tokens_total",
      help: "Tokens runs used (as their results reported), by repository, agent and kind (input, output)",
      labelNames: ["repo", "agent", "kind"],
      registers: [registry],
      async collect() {
        const rows = await prisma.repoSpendDay.groupBy({
          by: ["repoUrl", "agentType"],
          _sum: { inputTokens: true, outputTokens: true },
        });
        this.reset();
        for (const row of rows) {
          const labels = { repo: row.repoUrl, agent: row.agentType };
          this.inc({ ...labels, kind: "input" }, Number(row._sum.inputTokens ?? 0));
          this.inc({ ...labels, kind: "output" }, Number(row._sum.outputTokens ?? 0));
        }
      },
    });
    const budget = () => this.budget;
    new Gauge({
      name: "optio_daily_spend_usd",
      help: "USD runs spent this UTC day",
      registers: [registry],
      async collect() {
        const status = await budget()?.status();
        if (status) this.set(Number(status.spentUsd));
      },
    });
    new Gauge({
      name: "optio_daily_budget_usd",
      help: "The daily budget's cap in USD (0: no cap)",
      registers: [registry],
      async collect() {
        const status = await budget()?.status();
        if (status) this.set(status.capUsd ?? 0);
      },
    });

    const histograms = [
      new DbHistogram(prisma, {
        name: "optio_run_duration_seconds",
        help: "Finished runs: container start to end, by outcome (run state)",
        buckets: RUN_BUCKETS,
        labelName: "outcome",
        source: `SELECT state::text AS label, extract(epoch FROM finished_at - started_at) AS seconds
                 FROM runs WHERE finished_at IS NOT NULL AND started_at IS NOT NULL`,
      }),
      new DbHistogram(prisma, {
        name: "optio_claim_to_start_seconds",
        help: "Runs: claimed (run created) to container started",
        buckets: LATENCY_BUCKETS,
        source: `SELECT NULL::text AS label, extract(epoch FROM started_at - created_at) AS seconds
                 FROM runs WHERE started_at IS NOT NULL`,
      }),
      new DbHistogram(prisma, {
        name: "optio_task_time_to_running_seconds",
        help: "Tasks: created to first running",
        buckets: LATENCY_BUCKETS,
        source: `SELECT NULL::text AS label, extract(epoch FROM started_at - created_at) AS seconds
                 FROM tasks WHERE started_at IS NOT NULL`,
      }),
    ];
    for (const histogram of histograms) registry.registerMetric(histogram as unknown as Metric);
  }

  /** The daily budget, once the services exist: optio_daily_spend_usd and optio_daily_budget_usd. */
  attachBudget(budget: Pick<DailyBudget, "status">): void {
    this.budget = budget;
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.http.observe({ method, route, status: String(status) }, seconds);
  }

  observeNotificationDelivery(outcome: "delivered" | "retry" | "failed"): void {
    this.notificationDeliveries.inc({ outcome });
  }
}
