// Pure: a run's spend, metered from the agent's normalised events as they arrive, and the moment it
// crosses the run's caps. The runner stops the run on the first breach (run-execution.ts).
//
// Usage comes in two shapes (packages/agents: UsageEvent): a `message` event is one model response,
// revised by later events with the same message id (Claude repeats a response's usage on each of its
// content blocks: the last one counts); a `cumulative` event is the session's total so far and
// replaces everything before it (Claude's final `result`, whose `total_cost_usd` is then the cost;
// Codex's `turn.completed`, priced here since Codex reports no cost). Turns are the adapters' `turn`
// events: Claude's responses (each iteration of its tool loop), Codex's turns.
import type { AgentEvent, TokenCounts, UsageEvent } from "@optio/agents";
import type { AgentType } from "@optio/contracts";
import { costOf, type PriceTable } from "./price-table";

/** A run's caps (null: none). */
export type BudgetCaps = { maxCostUsd: number | null; maxTurns: number | null };

export type BudgetBreach = { cap: "cost" | "turns"; message: string };

export type MeterTotals = {
  /** null: the agent reported no usage at all (a shell run). */
  costUsd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  turns: number;
};

type Spend = { tokens: TokenCounts; costUsd: number };

/** `$0.5213`, `$12.40`: enough digits to tell a cap of cents from the spend that crossed it. */
export const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;

export class RunMeter {
  private readonly prices: PriceTable;
  private readonly agentType: AgentType;
  /** The model the run spec asked for: the price of usage whose event names none. */
  private readonly model: string | null;
  private readonly caps: BudgetCaps;
  /** The last cumulative report, and the responses reported since. */
  private base: Spend | null = null;
  private readonly messages = new Map<string, Spend>();
  private anonymous = 0;
  private seen = false;
  private turns = 0;
  private breach: BudgetBreach | null = null;
  private readonly fallbacks = new Set<string>();
  private readonly announced = new Set<string>();

  constructor(options: { prices: PriceTable; agentType: AgentType; model: string | null; caps: BudgetCaps }) {
    this.prices = options.prices;
    this.agentType = options.agentType;
    this.model = options.model;
    this.caps = options.caps;
  }

  /** Takes one event; returns the breach the first time a cap is crossed, else null. */
  observe(event: AgentEvent): BudgetBreach | null {
    if (event.type === "turn") {
      this.turns++;
      const max = this.caps.maxTurns;
      if (max !== null && this.turns > max)
        return this.crossed("turns", `turn ${this.turns} crossed maxTurns ${max}`);
      return null;
    }
    if (event.type !== "usage") return null;
    this.seen = true;
    const spend = { tokens: tokensOf(event), costUsd: event.costUsd ?? this.price(event) };
    if (event.scope === "cumulative") {
      this.base = spend;
      this.messages.clear();
    } else this.messages.set(event.messageId ?? `#${this.anonymous++}`, spend);
    const max = this.caps.maxCostUsd;
    const cost = this.totals().costUsd ?? 0;
    if (max !== null && cost > max)
      return this.crossed("cost", `cost ${usd(cost)} crossed maxCostUsd ${usd(max)}`);
    return null;
  }

  totals(): MeterTotals {
    if (!this.seen) return { costUsd: null, inputTokens: null, outputTokens: null, turns: this.turns };
    const all = [...(this.base ? [this.base] : []), ...this.messages.values()];
    return {
      costUsd: all.reduce((sum, spend) => sum + spend.costUsd, 0),
      inputTokens: all.reduce((sum, spend) => sum + spend.tokens.inputTokens, 0),
      outputTokens: all.reduce((sum, spend) => sum + spend.tokens.outputTokens, 0),
      turns: this.turns,
    };
  }

  /** Models priced by the fallback entry that were not reported yet (for a line in the run's log). */
  newFallbacks(): string[] {
    const fresh = [...this.fallbacks].filter((model) => !this.announced.has(model));
    for (const model of fresh) this.announced.add(model);
    return fresh;
  }

  private price(event: UsageEvent): number {
    const model = event.model ?? this.model;
    const match = this.prices.match(model, this.agentType);
    if (match.fallback) this.fallbacks.add(model ?? `(${this.agentType}'s own choice)`);
    return costOf(event, match.price);
  }

  private crossed(cap: BudgetBreach["cap"], message: string): BudgetBreach | null {
    if (this.breach) return null; // the first breach stops the run; later ones are old news
    this.breach = { cap, message };
    return this.breach;
  }
}

function tokensOf(event: UsageEvent): TokenCounts {
  return {
    inputTokens: event.inputTokens,
    cacheReadTokens: event.cacheReadTokens,
    cacheWriteTokens: event.cacheWriteTokens,
    outputTokens: event.outputTokens,
  };
}
