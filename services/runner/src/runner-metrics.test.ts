// The runner's /metrics as Prometheus scrapes it: slots, buffered reports read from the runner at
// scrape time, container starts and ended runs, labelled with the runner's id; anything else 404.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { startMetricsServer } from "@optio/core";
import { RunnerMetrics } from "./runner-metrics";

let server: http.Server;
const metrics = new RunnerMetrics({ runnerId: "metrics-runner", slots: 4 });
const errors: unknown[] = [];

beforeAll(async () => {
  const logger = { error: (details: object) => void errors.push(details) };
  server = await startMetricsServer({ registry: metrics.registry, port: 0, host: "127.0.0.1", logger });
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function scrape(path: string): Promise<{ status: number; type: string | null; body: string }> {
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
}

it("serves the runner's series, gauges read from the runner when scraped", async () => {
  const runner = { busy: 3, reportsBuffered: 7 };
  metrics.attach(runner);
  metrics.containerStarted(0.3);
  const spend = (costUsd: number | null, inputTokens: number | null, outputTokens: number | null) => ({
    agentType: "claude",
    metered: { costUsd, inputTokens, outputTokens, turns: 1 },
  });
  metrics.runEnded("completed", spend(0.25, 1000, 100));
  metrics.runEnded("completed", spend(0.5, 2000, 50));
  metrics.runEnded("budget", spend(1, 10, 1));
  metrics.runEnded("completed", { agentType: "shell", metered: { ...spend(null, null, null).metered } });
  runner.busy = 2; // a gauge is what the runner holds at scrape time, not at attach time

  const { status, type, body } = await scrape("/metrics?x=1");
  expect(status).toBe(200);
  expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
  const label = 'runner="metrics-runner"';
  expect(body).toContain(`optio_runner_slots_total{${label}} 4`);
  expect(body).toContain(`optio_runner_slots_busy{${label}} 2`);
  expect(body).toContain(`optio_runner_reports_buffered{${label}} 7`);
  expect(body).toContain(`optio_runner_container_start_seconds_bucket{le="0.5",${label}} 1`);
  expect(body).toContain(`optio_runner_container_start_seconds_bucket{le="0.25",${label}} 0`);
  expect(body).toContain(`optio_runner_runs_total{outcome="completed",${label}} 3`);
  expect(body).toContain(`optio_runner_runs_total{outcome="budget",${label}} 1`);
  expect(body).toContain(`optio_runner_agent_cost_usd_total{agent="claude",${label}} 1.75`);
  expect(body).toContain(`optio_runner_agent_tokens_total{agent="claude",kind="input",${label}} 3010`);
  expect(body).toContain(`optio_runner_agent_tokens_total{agent="claude",kind="output",${label}} 151`);
  expect(body).not.toContain(`agent="shell"`);
  expect(body).toMatch(/^optio_runner_process_resident_memory_bytes\{runner="metrics-runner"\} \d+/m);
  expect(errors).toEqual([]);
});

it("answers 404 to anything but GET /metrics", async () => {
  expect((await scrape("/")).status).toBe(404);
  expect((await scrape("/metricsx")).status).toBe(404);
});
