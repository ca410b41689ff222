// Pure: what a model's tokens cost, in USD per million tokens, for the runner's meter (run-meter.ts).
//
// The defaults are a snapshot of the vendors' published list prices (anthropic.com/pricing,
// openai.com/api/pricing) as they stood when this table was written (late 2025), for the models the
// pinned CLIs name (deploy/images/agent/Dockerfile: Claude Code 2.1.332, Codex 0.171.0). They are not
// read from anywhere at run time and were not re-checked against those CLI versions: newer models and
// price changes need an override (OPTIO_RUNNER_MODEL_PRICES), and Anthropic's long-context surcharge
// (Sonnet past 200k input tokens) and batch/priority tiers are not modelled.
import { z } from "zod";
import type { AgentType } from "@optio/contracts";
import type { TokenCounts } from "@optio/agents";

/** USD per million tokens. Cache prices default to the input price when not given. */
export const ModelPrice = z.strictObject({
  input: z.number().min(0).max(10_000),
  output: z.number().min(0).max(10_000),
  cacheRead: z.number().min(0).max(10_000).optional(),
  cacheWrite: z.number().min(0).max(10_000).optional(),
});
export type ModelPrice = z.infer<typeof ModelPrice>;

/**
 * Keys: a model name or a prefix of model names (`claude-sonnet-4-5` prices
 * `claude-sonnet-4-5-20250929`; the longest matching key wins), `agent:<type>` for a run whose stream
 * and spec name no model (Codex's stream never names one), and `default` for any model not listed.
 */
export const PriceEntries = z.record(z.string().trim().min(1).max(200), ModelPrice);
export type PriceEntries = z.infer<typeof PriceEntries>;

export const FALLBACK_KEY = "default";
export const agentKey = (agentType: AgentType) => `agent:${agentType}`;

const anthropic = (input: number, output: number): ModelPrice => ({
  input,
  output,
  // Anthropic: cache reads at 0.1x input, 5-minute cache writes at 1.25x (what Claude Code uses).
  cacheRead: input / 10,
  cacheWrite: input * 1.25,
});
const openai = (input: number, cacheRead: number, output: number): ModelPrice => ({
  input,
  output,
  cacheRead,
  cacheWrite: input, // OpenAI does not charge for writing its cache
});

export const DEFAULT_PRICES: PriceEntries = {
  "claude-opus-4-5": anthropic(5, 25),
  "claude-opus-4-1": anthropic(15, 75),
  "claude-opus-4": anthropic(15, 75),
  "claude-sonnet-4-5": anthropic(3, 15),
  "claude-sonnet-4": anthropic(3, 15),
  "claude-3-7-sonnet": anthropic(3, 15),
  "claude-haiku-4-5": anthropic(1, 5),
  "claude-3-5-haiku": anthropic(0.8, 4),
  "gpt-5": openai(1.25, 0.125, 10),
  "gpt-5-codex": openai(1.25, 0.125, 10),
  "gpt-5.1": openai(1.25, 0.125, 10),
  "gpt-5.1-codex": openai(1.25, 0.125, 10),
  "gpt-5-mini": openai(0.25, 0.025, 2),
  "gpt-5.1-codex-mini": openai(0.25, 0.025, 2),
  "gpt-5-nano": openai(0.05, 0.005, 0.4),
  "codex-mini-latest": openai(1.5, 0.375, 6),
  o3: openai(2, 0.5, 8),
  "o4-mini": openai(1.1, 0.275, 4.4),
  "gpt-4.1": openai(2, 0.5, 8),
  // Codex chooses its model itself when the task names none, and does not say which: priced as
  // gpt-5-codex, its default when this table was written.
  [agentKey("codex")]: openai(1.25, 0.125, 10),
  [agentKey("claude")]: anthropic(3, 15),
  // An unknown model is priced as the dearest one listed, so a cap trips early rather than late.
  [FALLBACK_KEY]: anthropic(15, 75),
};

/** How a model was priced: the entry's key, and whether it was the fallback. */
export type PriceMatch = { key: string; price: ModelPrice; fallback: boolean };

export class PriceTable {
  private readonly entries: [string, ModelPrice][];
  private readonly fallback: ModelPrice;

  /** `overrides` replace or add entries of the defaults (an operator's OPTIO_RUNNER_MODEL_PRICES). */
  constructor(options: { overrides?: PriceEntries } = {}) {
    const merged = new Map<string, ModelPrice>();
    for (const [key, price] of Object.entries({ ...DEFAULT_PRICES, ...options.overrides }))
      merged.set(key.toLowerCase(), price);
    this.fallback = merged.get(FALLBACK_KEY)!;
    merged.delete(FALLBACK_KEY);
    // Longest first: the most specific prefix wins.
    this.entries = [...merged].sort(([a], [b]) => b.length - a.length);
  }

  /** The price of `model` (null: the stream and the spec named none, so the agent's entry). */
  match(model: string | null, agentType: AgentType): PriceMatch {
    const name = (model ?? agentKey(agentType)).trim().toLowerCase();
    for (const [key, price] of this.entries)
      if (name === key || (name.startsWith(key) && /[-@:._/]/.test(name[key.length]!)))
        return { key, price, fallback: false };
    return { key: FALLBACK_KEY, price: this.fallback, fallback: true };
  }
}

/** What `tokens` cost at `price`: uncached input, cache reads and writes, output. */
export function costOf(tokens: TokenCounts, price: ModelPrice): number {
  const plainInput = Math.max(0, tokens.inputTokens - tokens.cacheReadTokens - tokens.cacheWriteTokens);
  return (
    (plainInput * price.input +
      tokens.cacheReadTokens * (price.cacheRead ?? price.input) +
      tokens.cacheWriteTokens * (price.cacheWrite ?? price.input) +
      tokens.outputTokens * price.output) /
    1_000_000
  );
}
