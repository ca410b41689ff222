import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  claudeAdapter,
  codexAdapter,
  getAdapter,
  renderEvent,
  shellAdapter,
  parseReviewVerdict,
  type AgentAdapter,
  type AgentEvent,
} from "./index";

function parseFixture(adapter: AgentAdapter, name: string) {
  const parser = adapter.createParser();
  const lines = readFileSync(join(__dirname, "fixtures", name), "utf8")
    .split("\n")
    .filter(Boolean);
  const results = lines.map((line) => parser.line(line));
  return { results, events: results.flatMap((r) => r ?? []), summary: parser.summary() };
}

/** The events a log shows (turn marks and per-response usage are for meters). */
const logged = (events: AgentEvent[]) =>
  events.filter((e) => e.type !== "turn" && !(e.type === "usage" && e.scope === "message"));

const input = { prompt: "Add a usage section", promptFile: "/run/optio/prompt" };

describe("claude adapter", () => {
  it("builds the print-mode command reading stream-json messages on stdin", () => {
    expect(claudeAdapter.command(input)).toEqual({
      argv: [
        "claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        "--input-format",
        "stream-json",
        "--replay-user-messages",
      ],
      stdin: "stream",
      env: { CI: "1", DISABLE_AUTOUPDATER: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" },
    });
    const full = claudeAdapter.command({ ...input, maxTurns: 30, model: "opus", resumeSessionId: "abc" });
    expect(full.argv.slice(9)).toEqual(["--max-turns", "30", "--model", "opus", "--resume", "abc"]);
    expect(claudeAdapter.command({ ...input, maxBudgetUsd: 0.5 }).argv.slice(9)).toEqual([
      "--max-budget-usd",
      "0.5",
    ]);
    expect(full.argv).not.toContain(input.prompt);
  });

  it("parses a successful stream into session, text, tool calls/results and usage", () => {
    const { events: all, summary } = parseFixture(claudeAdapter, "claude-success.jsonl");
    const events = logged(all);
    expect(events.map((e) => e.type)).toEqual([
      "session",
      "text",
      "tool_call",
      "tool_result",
      "tool_call",
      "tool_result",
      "text",
      "usage",
      "answered",
    ]);
    expect(events[0]).toEqual({
      type: "session",
      sessionId: "5f1c3a9e-2b7d-4e8f-9a10-3c2b1d0e9f87",
      model: "claude-sonnet-4-5-20250929",
    });
    expect(events[2]).toEqual({
      type: "tool_call",
      id: "toolu_01ABCD",
      name: "Read",
      input: { file_path: "/workspace/repo/README.md" },
    });
    expect(events[5]).toMatchObject({
      type: "tool_result",
      id: "toolu_01EFGH",
      isError: false,
      content: expect.stringContaining("has been updated"),
    });
    expect(summary).toEqual({
      sessionId: "5f1c3a9e-2b7d-4e8f-9a10-3c2b1d0e9f87",
      model: "claude-sonnet-4-5-20250929",
      costUsd: 0.0421365,
      inputTokens: 19 + 6651 + 45900,
      outputTokens: 242,
      isError: false,
      limit: null,
      resultText: "Added a Usage section to the README.",
      review: null,
      failure: null,
    });
  });

  it("marks a turn per model response and reports each response's usage, then the session's", () => {
    const { events } = parseFixture(claudeAdapter, "claude-success.jsonl");
    // Three responses (message ids), the first in three lines (thinking, text, tool_use).
    expect(events.filter((e) => e.type === "turn")).toHaveLength(3);
    const usage = events.filter((e) => e.type === "usage");
    expect(usage.map((u) => [u.scope, u.messageId, u.outputTokens])).toEqual([
      ["message", "msg_01XkP2aQ", 3],
      ["message", "msg_01XkP2aQ", 3],
      ["message", "msg_01XkP2aQ", 87],
      ["message", "msg_01YbQ3", 140],
      ["message", "msg_01ZcR4", 12],
      ["cumulative", null, 242],
    ]);
    expect(usage[0]).toEqual({
      type: "usage",
      scope: "message",
      messageId: "msg_01XkP2aQ",
      model: "claude-sonnet-4-5-20250929",
      inputTokens: 4 + 6321 + 11046,
      cacheReadTokens: 11046,
      cacheWriteTokens: 6321,
      outputTokens: 3,
      costUsd: null,
    });
    expect(usage.at(-1)).toMatchObject({
      costUsd: 0.0421365,
      cacheReadTokens: 45900,
      cacheWriteTokens: 6651,
    });
    // The turn comes before its response's content.
    expect(events.slice(1, 3).map((e) => e.type)).toEqual(["turn", "usage"]);
  });

  it("writes messages and the interrupt as the CLI's stream-json input lines", () => {
    const line = claudeAdapter.input!.message('Use "tabs"\nplease');
    expect(line.endsWith("\n")).toBe(true);
    expect(line.slice(0, -1)).not.toContain("\n");
    expect(JSON.parse(line)).toEqual({
      type: "user",
      message: { role: "user", content: [{ type: "text", text: 'Use "tabs"\nplease' }] },
    });
    expect(JSON.parse(claudeAdapter.input!.interrupt("m-1"))).toEqual({
      type: "control_request",
      request_id: "m-1",
      request: { subtype: "interrupt" },
    });
    expect(codexAdapter.input).toBeUndefined();
    expect(shellAdapter.input).toBeUndefined();
  });

  // Recorded from Claude Code 2.1.332 against a local model double (fields trimmed): a prompt
  // interrupted mid-answer, the message sent with the interrupt, then a third message with a tool.
  it("parses several turns: messages taken, each turn answered, the cost of the last result", () => {
    const { events, summary } = parseFixture(claudeAdapter, "claude-stream-turns.jsonl");
    const flow = events
      .filter((e) => e.type === "input_taken" || e.type === "answered")
      .map((e) =>
        e.type === "input_taken" ? `took ${e.text}` : `answered${e.interrupted ? " (interrupted)" : ""}`,
      );
    expect(flow).toEqual([
      "took Add a usage section SLOW=4",
      "answered (interrupted)",
      "took Stop: add an install section instead",
      "answered",
      "took And a licence line TOOL=true",
      "answered",
    ]);
    // The interrupted turn is no error of the run, and logs none.
    expect(events.some((e) => e.type === "error")).toBe(false);
    expect(summary).toMatchObject({
      sessionId: "d581d74c-c746-4eb9-b9d3-a17d590574e6",
      isError: false,
      // total_cost_usd counts from the session's start; each result's usage is its own turn's.
      costUsd: 0.0027,
      inputTokens: 0 + 132 + 267,
      outputTokens: 0 + 10 + 30,
    });
  });

  it("reports is_error results as errors and leaves non-JSON lines raw", () => {
    const { results, events, summary } = parseFixture(claudeAdapter, "claude-max-turns.jsonl");
    expect(results[1]).toBeNull();
    expect(events.find((e) => e.type === "tool_result")).toMatchObject({ isError: true });
    expect(events.at(-2)).toEqual({ type: "error", message: "claude ended with error_max_turns" });
    expect(summary).toMatchObject({
      isError: true,
      limit: "max_turns",
      costUsd: 0.0183,
      inputTokens: 1110,
      outputTokens: 50,
    });
  });

  it("reads a stop at --max-budget-usd as the budget limit", () => {
    const parser = claudeAdapter.createParser();
    parser.line(
      JSON.stringify({
        type: "result",
        subtype: "error_max_budget_usd",
        is_error: true,
        total_cost_usd: 0.61,
      }),
    );
    expect(parser.summary()).toMatchObject({ isError: true, limit: "max_budget", costUsd: 0.61 });
  });

  it("takes the cost of the last result (it counts from the session's start) and ends as the last turn did", () => {
    const parser = claudeAdapter.createParser();
    const result = (subtype: string, cost: number, input: number) =>
      JSON.stringify({
        type: "result",
        subtype,
        is_error: subtype !== "success",
        total_cost_usd: cost,
        usage: { input_tokens: input, cache_read_input_tokens: 1, output_tokens: 2 },
      });
    parser.line(result("error_max_turns", 0.01, 10));
    expect(parser.summary()).toMatchObject({ isError: true, limit: "max_turns", costUsd: 0.01 });
    // Each result's usage is its own turn's: the run's usage event adds them up.
    expect(parser.line(result("success", 0.03, 20))).toContainEqual(
      expect.objectContaining({
        type: "usage",
        scope: "cumulative",
        costUsd: 0.03,
        inputTokens: 11 + 21,
        cacheReadTokens: 2,
        outputTokens: 4,
      }),
    );
    expect(parser.summary()).toMatchObject({ isError: false, limit: null, costUsd: 0.03, inputTokens: 32 });
  });

  it("never throws on garbage", () => {
    const parser = claudeAdapter.createParser();
    for (const line of [
      "",
      "{",
      "[1,2]",
      "null",
      '{"type":"assistant","message":null}',
      '{"type":"result","usage":"x"}',
    ])
      expect(() => parser.line(line)).not.toThrow();
  });
});

describe("claude adapter: failures as Claude Code 2.1.332 prints them", () => {
  it("reads an API retry's status and the API error it gave up on", () => {
    const parser = claudeAdapter.createParser();
    const retry = {
      type: "system",
      subtype: "api_retry",
      attempt: 1,
      max_retries: 10,
      error_status: 401,
      error: "authentication_failed",
      session_id: "s",
    };
    expect(parser.line(JSON.stringify(retry))).toEqual([
      { type: "api_retry", status: 401, message: "authentication_failed (attempt 1 of 10)" },
    ]);
    const gaveUp = {
      type: "result",
      subtype: "success",
      is_error: true,
      terminal_reason: "api_error",
      api_error_status: 529,
      api_error_type: "overloaded_error",
      result: "API Error: 529 Overloaded. This is a server-side issue, usually temporary",
      session_id: "s",
      total_cost_usd: 0,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    parser.line(JSON.stringify(gaveUp));
    expect(parser.summary().failure).toEqual({ kind: "api", status: 529, message: gaveUp.result });
  });
});

describe("codex adapter", () => {
  it("builds `codex exec --json` reading the prompt from stdin", () => {
    expect(codexAdapter.command({ ...input, model: "gpt-5-codex" }).argv).toEqual([
      "codex",
      "exec",
      "--json",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
      "--model",
      "gpt-5-codex",
      "-",
    ]);
    expect(codexAdapter.command({ ...input, resumeSessionId: "t1" }).argv.slice(-3)).toEqual([
      "resume",
      "t1",
      "-",
    ]);
  });

  it("reaches a gateway through a model provider of its own, its options before `resume`", () => {
    const argv = codexAdapter.command({
      ...input,
      modelBaseUrl: "http://gateway.internal:4000/v1",
      resumeSessionId: "t1",
    }).argv;
    expect(argv.slice(5, 9)).toEqual([
      "-c",
      'model_providers.optio={name="optio",base_url="http://gateway.internal:4000/v1",env_key="OPENAI_API_KEY",wire_api="responses"}',
      "-c",
      'model_provider="optio"',
    ]);
    expect(argv.slice(9)).toEqual(["resume", "t1", "-"]);
    // Never left for the CLI to misread: a quote in the URL stays inside its TOML string.
    const quoted = codexAdapter.command({ ...input, modelBaseUrl: 'http://x/"a\\' }).argv[6];
    expect(quoted).toContain('base_url="http://x/\\"a\\\\"');
  });

  it("parses items and turn usage", () => {
    const { events: all, summary } = parseFixture(codexAdapter, "codex-success.jsonl");
    expect(all.filter((e) => e.type === "turn")).toHaveLength(1);
    expect(all.at(-1)).toEqual({
      type: "usage",
      scope: "cumulative",
      messageId: null,
      model: null,
      inputTokens: 24763,
      cacheReadTokens: 24448,
      cacheWriteTokens: 0,
      outputTokens: 122,
      costUsd: null,
    });
    const events = logged(all);
    expect(events.map((e) => e.type)).toEqual([
      "session",
      "tool_call",
      "tool_result",
      "tool_call",
      "tool_result",
      "tool_call",
      "tool_result",
      "text",
      "usage",
    ]);
    expect(events[1]).toEqual({
      type: "tool_call",
      id: "item_1",
      name: "command",
      input: { command: "bash -lc 'cat README.md'" },
    });
    expect(events[6]).toMatchObject({ type: "tool_result", isError: true, content: "1 failing\n" });
    expect(summary).toEqual({
      sessionId: "0199a213-81c0-7800-8aa1-bbab2a035a53",
      model: null,
      costUsd: null,
      inputTokens: 24763,
      outputTokens: 122,
      isError: false,
      limit: null,
      resultText: "Updated README.md with a usage section.",
      review: null,
      failure: null,
    });
  });

  it("keeps the thread's latest totals: each turn's usage counts from the thread's start", () => {
    const parser = codexAdapter.createParser();
    const turn = (input: number, output: number) =>
      JSON.stringify({
        type: "turn.completed",
        usage: { input_tokens: input, cached_input_tokens: 0, output_tokens: output },
      });
    parser.line(turn(100, 10));
    parser.line(turn(250, 30));
    expect(parser.summary()).toMatchObject({ inputTokens: 250, outputTokens: 30 });
  });

  it("marks turn.failed and error events", () => {
    const { events, summary } = parseFixture(codexAdapter, "codex-failed.jsonl");
    expect(events.filter((e) => e.type === "error")).toHaveLength(2);
    expect(summary.isError).toBe(true);
  });

  it("reads Codex 0.171's retry notices as retries, and an error a later turn completes after as passed", () => {
    const parser = codexAdapter.createParser();
    parser.line(JSON.stringify({ type: "thread.started", thread_id: "t1" }));
    const notice =
      "Reconnecting... 2/5 (unexpected status 401 Unauthorized: invalid x-api-key, url: http://gw/v1/responses)";
    expect(parser.line(JSON.stringify({ type: "error", message: notice }))).toEqual([
      { type: "api_retry", status: 401, message: expect.stringContaining("unexpected status 401") },
    ]);
    expect(parser.summary().isError).toBe(false);
    parser.line(JSON.stringify({ type: "error", message: "a passing problem" }));
    expect(parser.summary().isError).toBe(true);
    parser.line(JSON.stringify({ type: "turn.completed", usage: { input_tokens: 5, output_tokens: 2 } }));
    expect(parser.summary()).toMatchObject({ isError: false, failure: null });
  });

  it("names the model API's status when Codex gives up on it", () => {
    const lines = [
      { type: "thread.started", thread_id: "t2" },
      { type: "error", message: "exceeded retry limit, last status: 429 Too Many Requests" },
      { type: "turn.failed", error: { message: "exceeded retry limit, last status: 429 Too Many Requests" } },
    ];
    const parser = codexAdapter.createParser();
    for (const line of lines) parser.line(JSON.stringify(line));
    expect(parser.summary()).toMatchObject({
      isError: true,
      failure: { kind: "api", status: 429, message: expect.stringContaining("Too Many Requests") },
    });
  });
});

describe("shell adapter", () => {
  it("runs the prompt file with bash and treats every line as text", () => {
    expect(shellAdapter.command(input)).toEqual({
      argv: ["bash", "/run/optio/prompt"],
      stdin: "none",
      env: {},
    });
    const parser = getAdapter("shell").createParser();
    expect(parser.line("hello")).toEqual([{ type: "text", text: "hello" }]);
    expect(parser.summary().resultText).toBe("hello");
  });
});

describe("renderEvent", () => {
  it("renders log lines with structured data", () => {
    expect(renderEvent({ type: "tool_call", id: "t", name: "Bash", input: { command: "ls" } })).toEqual({
      type: "tool_call",
      content: 'Bash {"command":"ls"}',
      data: { toolName: "Bash", toolUseId: "t", toolInput: { command: "ls" } },
    });
    const usage = {
      type: "usage",
      messageId: null,
      model: null,
      inputTokens: 1,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 2,
      costUsd: 0.5,
    } as const;
    expect(renderEvent({ ...usage, scope: "cumulative" })?.content).toBe("tokens in 1 / out 2 · $0.5000");
    // A response's own usage and turn marks are for meters, not the log.
    expect(renderEvent({ ...usage, scope: "message" })).toBeNull();
    expect(renderEvent({ type: "turn" })).toBeNull();
    expect(renderEvent({ type: "input_taken", text: "Use tabs" })).toEqual({
      type: "system",
      content: "the agent took a message: Use tabs",
    });
    expect(renderEvent({ type: "answered", isError: false, interrupted: false })).toBeNull();
    expect(renderEvent({ type: "answered", isError: true, interrupted: true })?.content).toBe(
      "the agent's turn was interrupted",
    );
  });
});

describe("review verdict", () => {
  it("reads a review run's verdict and body from Claude's final answer", () => {
    const { summary } = parseFixture(claudeAdapter, "claude-review.jsonl");
    expect(summary.review).toEqual({
      verdict: "request_changes",
      body: "The change adds sum() but no test covers negative numbers.\n\n- add a test for sum(-1, -2)",
    });
    // A coding run's answer carries no verdict.
    expect(parseFixture(claudeAdapter, "claude-success.jsonl").summary.review).toBeNull();
  });

  it("accepts only the documented last line", () => {
    expect(parseReviewVerdict("Looks good.\nOPTIO_REVIEW_VERDICT: approve\n")).toEqual({
      verdict: "approve",
      body: "Looks good.",
    });
    expect(parseReviewVerdict("optio_review_verdict:  Request-Changes")).toEqual({
      verdict: "request_changes",
      body: "",
    });
    expect(parseReviewVerdict("OPTIO_REVIEW_VERDICT: approve\nbut actually one more thing")).toBeNull();
    expect(parseReviewVerdict("OPTIO_REVIEW_VERDICT: maybe")).toBeNull();
    expect(parseReviewVerdict("I approve")).toBeNull();
    expect(parseReviewVerdict(null)).toBeNull();
  });
});

describe("codex retries", () => {
  it("reads Codex's Reconnecting... error events as retries, not as the run's failure", () => {
    // Real Codex 0.171.0 output: a 429, then a cut stream, both retried, then the answer.
    const { events, summary } = parseFixture(codexAdapter, "codex-retried.jsonl");
    expect(events.filter((e) => e.type === "api_retry")).toEqual([
      { type: "api_retry", status: 429, message: expect.stringContaining("last status: 429") },
      { type: "api_retry", status: null, message: expect.stringContaining("stream disconnected") },
    ]);
    expect(summary).toMatchObject({
      isError: false,
      failure: null,
      resultText: "Recovered.",
      inputTokens: 100,
    });
  });
});
