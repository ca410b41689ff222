// A Prometheus histogram whose buckets are counted by Postgres at scrape time, over durations the
// database already holds (runs, tasks). Cumulative and monotonic like a client-side histogram, but
// shared by every API replica and kept across restarts.
import type { MetricValueWithName } from "prom-client";
import type { PrismaClient } from "../db/prisma";

export type DbHistogramOptions = {
  name: string;
  help: string;
  buckets: number[];
  /** SQL yielding one row per observation: `label` (text or null) and `seconds` (numeric). */
  source: string;
  labelName?: string;
};

type Row = Record<string, unknown> & { label: string | null; count: bigint; sum: number | null };

export class DbHistogram {
  readonly type = "histogram" as const;
  readonly name: string;
  readonly help: string;
  readonly aggregator = "omit" as const;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: DbHistogramOptions,
  ) {
    this.name = options.name;
    this.help = options.help;
  }

  /** What prom-client's registry reads from a metric when it renders the text format. */
  async get() {
    const { buckets, source, labelName } = this.options;
    const columns = buckets
      .map((le, i) => `count(*) FILTER (WHERE seconds <= ${Number(le)}) AS b${i}`)
      .join(", ");
    // Buckets are numeric constants of this module, never input.
    const rows = await this.prisma.$queryRawUnsafe<Row[]>(
      `SELECT label, count(*) AS count, sum(seconds)::float8 AS sum, ${columns} FROM (${source}) o GROUP BY label`,
    );
    const values: MetricValueWithName<string>[] = [];
    for (const row of rows) {
      const labels = labelName ? { [labelName]: row.label ?? "unknown" } : {};
      buckets.forEach((le, i) =>
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le },
          value: Number(row[`b${i}`]),
        }),
      );
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { ...labels, le: "+Inf" },
        value: Number(row.count),
      });
      values.push({ metricName: `${this.name}_sum`, labels, value: row.sum ?? 0 });
      values.push({ metricName: `${this.name}_count`, labels, value: Number(row.count) });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      values,
      aggregator: this.aggregator,
    };
  }
}
