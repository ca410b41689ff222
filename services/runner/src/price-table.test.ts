import { costOf, DEFAULT_PRICES, PriceEntries, PriceTable } from "./price-table";

const tokens = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({
  inputTokens: input,
  cacheReadTokens: cacheRead,
  cacheWriteTokens: cacheWrite,
  outputTokens: output,
});

describe("PriceTable", () => {
  const table = new PriceTable();

  it("prices a dated model id by its family's entry, the most specific prefix winning", () => {
    expect(table.match("claude-sonnet-4-5-20250929", "claude")).toMatchObject({
      key: "claude-sonnet-4-5",
      fallback: false,
      price: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    });
    expect(table.match("claude-opus-4-5-20251101", "claude").price.input).toBe(5);
    expect(table.match("claude-opus-4-1-20250805", "claude").price.input).toBe(15);
    expect(table.match("gpt-5-codex", "codex").key).toBe("gpt-5-codex");
    expect(table.match("gpt-5.1-codex-mini", "codex").key).toBe("gpt-5.1-codex-mini");
    expect(table.match("GPT-5-Mini", "codex").key).toBe("gpt-5-mini");
  });

  it("matches prefixes at a name boundary only", () => {
    expect(table.match("o3-pro", "codex").key).toBe("o3");
    expect(table.match("o30", "codex")).toMatchObject({ key: "default", fallback: true });
  });

  it("prices a run whose stream and spec name no model by its agent's entry", () => {
    expect(table.match(null, "codex")).toMatchObject({ key: "agent:codex", fallback: false });
  });

  it("prices an unknown model as the fallback: the dearest default, so caps trip early", () => {
    const match = table.match("some-future-model", "claude");
    expect(match).toMatchObject({ key: "default", fallback: true });
    const dearest = Math.max(...Object.values(DEFAULT_PRICES).map((price) => price.output));
    expect(match.price.output).toBe(dearest);
    expect(table.match(null, "shell").fallback).toBe(true);
  });

  it("takes an operator's overrides over the defaults, the fallback included", () => {
    const overrides = PriceEntries.parse({
      "claude-sonnet-4-5": { input: 6, output: 22.5 },
      "my-model": { input: 1, output: 2 },
      default: { input: 0.5, output: 0.5 },
    });
    const custom = new PriceTable({ overrides });
    expect(custom.match("claude-sonnet-4-5-20250929", "claude").price).toEqual({ input: 6, output: 22.5 });
    expect(custom.match("my-model-v2", "claude").key).toBe("my-model");
    expect(custom.match("unknown", "claude").price).toEqual({ input: 0.5, output: 0.5 });
    expect(custom.match("claude-haiku-4-5", "claude").price.input).toBe(1); // untouched defaults stay
  });

  it("refuses a malformed override", () => {
    expect(PriceEntries.safeParse({ m: { input: -1, output: 1 } }).success).toBe(false);
    expect(PriceEntries.safeParse({ m: { input: 1 } }).success).toBe(false);
    expect(PriceEntries.safeParse({ m: { input: 1, output: 1, extra: 1 } }).success).toBe(false);
  });
});

describe("costOf", () => {
  it("prices uncached input, cache reads, cache writes and output apart", () => {
    const price = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
    // 1M tokens of input of which 600k read from the cache and 100k written to it.
    expect(costOf(tokens(1_000_000, 0, 600_000, 100_000), price)).toBeCloseTo(0.9 + 0.18 + 0.375, 10);
    expect(costOf(tokens(0, 2_000_000), price)).toBeCloseTo(30, 10);
  });

  it("charges cache tokens at the input price when the entry gives no cache prices", () => {
    expect(costOf(tokens(1_000_000, 0, 500_000), { input: 2, output: 8 })).toBeCloseTo(2, 10);
  });
});
