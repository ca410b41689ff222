import { readFileSync } from "node:fs";
import path from "node:path";
import {
  claudeAdapter,
  codexAdapter,
  type AgentAdapter,
  type AgentEvent,
  type UsageEvent,
} from "@optio/agents";
import { PriceTable } from "./price-table";
import { RunMeter, type BudgetCaps } from "./run-meter";

const prices = new PriceTable({
  overrides: {
    "test-model": { input: 1, output: 10, cacheRead: 0.1, cacheWrite: 1.25 },
    "agent:codex": { input: 2, output: 8, cacheRead: 0.5 },
  },
});
const NO_CAPS: BudgetCaps = { maxCostUsd: null, maxTurns: null };

const meter = (
  caps: Partial<BudgetCaps> = {},
  agentType: "claude" | "codex" = "claude",
  model: string | null = null,
) => new RunMeter({ prices, agentType, model, caps: { ...NO_CAPS, ...caps } });

const usage = (over: Partial<UsageEvent>): UsageEvent => ({
  type: "usage",
  scope: "message",
  messageId: null,
  model: "test-model",
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 0,
  costUsd: null,
  ...over,
});

/** A fixture's events through an adapter's parser, as the runner feeds them. */
function fixtureEvents(adapter: AgentAdapter, name: string): AgentEvent[] {
  const parser = adapter.createParser();
  const file = path.join(__dirname, "../../../packages/agents/src/fixtures", name);
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .flatMap((line) => parser.line(line) ?? []);
}

describe("RunMeter", () => {
  it("reports nothing for a run without usage (a shell run)", () => {
    const m = meter();
    m.observe({ type: "text", text: "hi" });
    expect(m.totals()).toEqual({ costUsd: null, inputTokens: null, outputTokens: null, turns: 0 });
  });

  it("counts a response once however many times its usage is repeated, keeping its last figures", () => {
    const m = meter();
    m.observe(usage({ messageId: "a", inputTokens: 1000, outputTokens: 3 }));
    m.observe(usage({ messageId: "a", inputTokens: 1000, outputTokens: 80 }));
    m.observe(usage({ messageId: "b", inputTokens: 2000, outputTokens: 20 }));
    expect(m.totals()).toMatchObject({ inputTokens: 3000, outputTokens: 100 });
    // 3000 input at $1/M + 100 output at $10/M
    expect(m.totals().costUsd).toBeCloseTo(0.003 + 0.001, 10);
  });

  it("prices the cache's reads and writes at their own prices", () => {
    const m = meter();
    m.observe(
      usage({ messageId: "a", inputTokens: 1_000_000, cacheReadTokens: 800_000, cacheWriteTokens: 100_000 }),
    );
    expect(m.totals().costUsd).toBeCloseTo(0.1 + 0.08 + 0.125, 10);
  });

  it("lets a cumulative report replace what came before, its own cost winning over the priced one", () => {
    const m = meter();
    m.observe(usage({ messageId: "a", inputTokens: 1000, outputTokens: 10 }));
    m.observe(usage({ scope: "cumulative", inputTokens: 1200, outputTokens: 15, costUsd: 0.5 }));
    expect(m.totals()).toEqual({ costUsd: 0.5, inputTokens: 1200, outputTokens: 15, turns: 0 });
  });

  it("meters Claude's stream: the responses' figures until the result, then the result's", () => {
    const m = meter({}, "claude");
    const events = fixtureEvents(claudeAdapter, "claude-success.jsonl");
    const result = events.findLastIndex((e) => e.type === "usage" && e.scope === "cumulative");
    for (const event of events.slice(0, result)) m.observe(event);
    // Three responses: the last line of each counts (sonnet 4.5 list prices).
    expect(m.totals()).toMatchObject({
      turns: 3,
      inputTokens: 17371 + 17493 + 17702,
      outputTokens: 87 + 140 + 12,
    });
    expect(m.totals().costUsd).toBeGreaterThan(0.02);
    m.observe(events[result]!);
    expect(m.totals()).toEqual({ costUsd: 0.0421365, inputTokens: 52570, outputTokens: 242, turns: 3 });
  });

  it("meters Codex's turns from their cumulative usage, at the agent's price when no model is named", () => {
    const m = meter({}, "codex");
    for (const event of fixtureEvents(codexAdapter, "codex-success.jsonl")) m.observe(event);
    // 24763 input of which 24448 cached, 122 output, at agent:codex's $2 / $0.5 / $8.
    expect(m.totals()).toMatchObject({ turns: 1, inputTokens: 24763, outputTokens: 122 });
    expect(m.totals().costUsd).toBeCloseTo((315 * 2 + 24448 * 0.5 + 122 * 8) / 1e6, 10);
    expect(m.newFallbacks()).toEqual([]);
  });

  it("prices usage naming no model at the spec's model", () => {
    const m = meter({}, "codex", "test-model");
    m.observe(usage({ scope: "cumulative", model: null, inputTokens: 1_000_000 }));
    expect(m.totals().costUsd).toBeCloseTo(1, 10);
  });

  it("says which models it priced by the fallback, each once", () => {
    const m = meter();
    m.observe(usage({ messageId: "a", model: "mystery-1", outputTokens: 1 }));
    m.observe(usage({ messageId: "b", model: "mystery-1", outputTokens: 1 }));
    expect(m.newFallbacks()).toEqual(["mystery-1"]);
    expect(m.newFallbacks()).toEqual([]);
  });

  describe("caps", () => {
    it("breaches the cost cap on the first usage that crosses it, once", () => {
      const m = meter({ maxCostUsd: 0.01 });
      expect(m.observe(usage({ messageId: "a", outputTokens: 900 }))).toBeNull(); // $0.009
      expect(m.observe(usage({ messageId: "a", outputTokens: 1000 }))).toBeNull(); // revised: $0.01, not over
      expect(m.observe(usage({ messageId: "b", outputTokens: 200 }))).toEqual({
        cap: "cost",
        message: "cost $0.0120 crossed maxCostUsd $0.0100",
      });
      expect(m.observe(usage({ messageId: "c", outputTokens: 200 }))).toBeNull();
      expect(m.totals().costUsd).toBeCloseTo(0.014, 10); // metering goes on after the breach
    });

    it("breaches the cost cap on the agent's own total too", () => {
      const m = meter({ maxCostUsd: 0.5 });
      expect(m.observe(usage({ scope: "cumulative", costUsd: 0.52 }))).toEqual({
        cap: "cost",
        message: "cost $0.5200 crossed maxCostUsd $0.5000",
      });
    });

    it("breaches the turn cap on the turn after the last one allowed", () => {
      const m = meter({ maxTurns: 10 });
      for (let i = 0; i < 10; i++) expect(m.observe({ type: "turn" })).toBeNull();
      expect(m.observe({ type: "turn" })).toEqual({ cap: "turns", message: "turn 11 crossed maxTurns 10" });
    });

    it("names the first cap crossed", () => {
      const m = meter({ maxTurns: 1, maxCostUsd: 0.001 });
      m.observe({ type: "turn" });
      expect(m.observe(usage({ messageId: "a", outputTokens: 1000 }))).toMatchObject({ cap: "cost" });
      expect(m.observe({ type: "turn" })).toBeNull();
    });

    it("stops a looping Claude stream within one turn of its turn cap", () => {
      const m = meter({ maxTurns: 3 });
      const events = fixtureEvents(claudeAdapter, "claude-success.jsonl").filter((e) => e.type !== "session");
      const loop = [
        ...events,
        ...events.map((e) => (e.type === "usage" ? { ...e, messageId: `${e.messageId}-2` } : e)),
      ];
      const at = loop.findIndex((event) => m.observe(event) !== null);
      expect(loop.slice(0, at + 1).filter((e) => e.type === "turn")).toHaveLength(4);
    });
  });
});
