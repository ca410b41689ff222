// Claude Code CLI in print mode: the prompt on stdin, NDJSON (`stream-json`) on stdout.
// Stream shape: `system`/`init` (session_id, model, tools), `assistant` messages whose content
// blocks are `text`, `thinking` or `tool_use`, `user` messages carrying `tool_result` blocks, and a
// final `result` (subtype, is_error, result, session_id, total_cost_usd, usage, num_turns). A run
// with several turns has a `result` per turn: `total_cost_usd` counts from the session's start
// (Claude Code 2.1.332, observed, also across --resume), `usage` is the turn's.
// Each content block of one model response comes as its own `assistant` line with the same message id
// and the response's usage so far (input_tokens, cache_creation_input_tokens, cache_read_input_tokens,
// output_tokens): a `message` usage event per line (a meter keeps the last per id), a `turn` per new id.
// Input is stream-json too: the prompt is the first user-message line on stdin, and the CLI reads
// more until stdin ends (STREAM_INPUT). With --replay-user-messages it echoes each message when it
// takes it in (a `user` line with isReplay); a message that starts a turn gets that turn's `result`,
// and one sent while a tool runs joins the current turn (no `result` of its own; observed).
import { arr, clip, num, obj, parseJsonObject, str } from "./json-line";
import {
  emptySummary,
  type AgentAdapter,
  type AgentEvent,
  type AgentInput,
  type AgentLimit,
  type AgentLiveInput,
  type AgentParser,
  type TokenCounts,
} from "./types";
import { parseReviewVerdict } from "./review-verdict";

function command(input: AgentInput) {
  const argv = [
    "claude",
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    // The container is the sandbox: no interactive permission prompts in a headless run.
    "--dangerously-skip-permissions",
  ];
  argv.push(...STREAM_INPUT);
  if (input.maxTurns) argv.push("--max-turns", String(input.maxTurns));
  if (input.maxBudgetUsd) argv.push("--max-budget-usd", String(input.maxBudgetUsd));
  if (input.model) argv.push("--model", input.model);
  if (input.resumeSessionId) argv.push("--resume", input.resumeSessionId);
  // No telemetry, error reports or update checks: a run reaches its model endpoint and nothing else.
  const env = { CI: "1", DISABLE_AUTOUPDATER: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" };
  return { argv, stdin: "stream" as const, env };
}

/** Messages on stdin while the agent runs, each echoed on stdout when the CLI takes it. */
const STREAM_INPUT = ["--input-format", "stream-json", "--replay-user-messages"];

const liveInput: AgentLiveInput = {
  message: (text) =>
    JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "text", text }] } }) + "\n",
  // Stops the current turn (a tool it runs is told no); the CLI answers with a control_response
  // and ends the turn with an error_during_execution result, then reads on.
  interrupt: (requestId) =>
    JSON.stringify({ type: "control_request", request_id: requestId, request: { subtype: "interrupt" } }) +
    "\n",
};

/** The text of a user message's content (a string or text blocks). */
const messageText = (content: unknown): string =>
  typeof content === "string"
    ? content
    : arr(content)
        .map((block) => (obj(block)?.type === "text" ? (str(obj(block)!.text) ?? "") : ""))
        .join("");

/** A tool_result's content is a string or a list of content blocks. */
function toolResultText(content: unknown): string {
  if (typeof content === "string") return content;
  return arr(content)
    .map((block) => {
      const b = obj(block);
      if (!b) return "";
      if (b.type === "text") return str(b.text) ?? "";
      return `[${str(b.type) ?? "block"}]`;
    })
    .filter(Boolean)
    .join("\n");
}

/** A `usage` object's tokens; input counts the cache's reads and writes too. */
function tokensOf(usage: Record<string, unknown> | null): TokenCounts {
  const cacheWriteTokens = num(usage?.cache_creation_input_tokens) ?? 0;
  const cacheReadTokens = num(usage?.cache_read_input_tokens) ?? 0;
  return {
    inputTokens: (num(usage?.input_tokens) ?? 0) + cacheWriteTokens + cacheReadTokens,
    cacheReadTokens,
    cacheWriteTokens,
    outputTokens: num(usage?.output_tokens) ?? 0,
  };
}

/** The result subtypes of a limit the CLI was given (--max-turns, --max-budget-usd). */
const LIMITS: Record<string, AgentLimit> = {
  error_max_turns: "max_turns",
  error_max_budget_usd: "max_budget",
};

function createParser(): AgentParser {
  const summary = emptySummary();
  const messageIds = new Set<string>();
  /** The results' usage so far (each result's is its turn's). */
  const total: TokenCounts = { inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 0 };
  const session = (sessionId: string | null, model: string | null): AgentEvent[] => {
    if (!sessionId || summary.sessionId) {
      if (model && !summary.model) summary.model = model;
      return [];
    }
    summary.sessionId = sessionId;
    summary.model = summary.model ?? model;
    return [{ type: "session", sessionId, model: summary.model }];
  };

  return {
    line(line) {
      const msg = parseJsonObject(line);
      if (!msg || typeof msg.type !== "string") return null;
      const sessionId = str(msg.session_id) ?? str(msg.sessionId);
      switch (msg.type) {
        case "system":
          if (msg.subtype === "api_retry")
            return [
              {
                type: "api_retry",
                status: num(msg.error_status),
                message: `${str(msg.error) ?? "error"} (attempt ${num(msg.attempt) ?? "?"} of ${num(msg.max_retries) ?? "?"})`,
              },
            ];
          return msg.subtype === "init" ? session(sessionId, str(msg.model)) : [];
        case "assistant": {
          const message = obj(msg.message);
          const model = str(message?.model);
          const events: AgentEvent[] = session(sessionId, model);
          const messageId = str(message?.id);
          if (!messageId || !messageIds.has(messageId)) events.push({ type: "turn" });
          if (messageId) messageIds.add(messageId);
          for (const block of arr(message?.content)) {
            const b = obj(block);
            if (b?.type === "text" && str(b.text)) events.push({ type: "text", text: str(b.text)! });
            if (b?.type === "tool_use")
              events.push({
                type: "tool_call",
                id: str(b.id),
                name: str(b.name) ?? "unknown",
                input: b.input ?? null,
              });
          }
          const usage = obj(message?.usage);
          if (usage)
            events.push({
              type: "usage",
              scope: "message",
              messageId,
              model: model ?? summary.model,
              costUsd: null,
              ...tokensOf(usage),
            });
          return events;
        }
        case "user": {
          const events: AgentEvent[] = session(sessionId, null);
          if (msg.isReplay === true) {
            events.push({ type: "input_taken", text: messageText(obj(msg.message)?.content) });
            return events;
          }
          for (const block of arr(obj(msg.message)?.content)) {
            const b = obj(block);
            if (b?.type === "tool_result")
              events.push({
                type: "tool_result",
                id: str(b.tool_use_id),
                content: clip(toolResultText(b.content)),
                isError: b.is_error === true,
              });
          }
          return events;
        }
        case "result": {
          const events: AgentEvent[] = session(sessionId, null);
          const tokens = tokensOf(obj(msg.usage));
          for (const key of Object.keys(total) as (keyof TokenCounts)[]) total[key] += tokens[key];
          // Older CLIs called the cost `cost_usd`. It counts from the session's start: the last wins.
          const cost = num(msg.total_cost_usd) ?? num(msg.cost_usd);
          summary.inputTokens = total.inputTokens;
          summary.outputTokens = total.outputTokens;
          if (cost !== null) summary.costUsd = cost;
          summary.resultText = str(msg.result);
          summary.limit = LIMITS[str(msg.subtype) ?? ""] ?? null;
          // The run's usage so far: the session's cost, the turns' tokens added up.
          events.push({
            type: "usage",
            scope: "cumulative",
            messageId: null,
            model: summary.model,
            costUsd: cost,
            ...total,
          });
          const isError =
            msg.is_error === true || (typeof msg.subtype === "string" && msg.subtype.startsWith("error"));
          // A turn stopped by an interrupt (aborted_streaming, aborted_tools) is no failure of the run.
          const interrupted = isError && str(msg.terminal_reason)?.startsWith("aborted") === true;
          // With several turns, the run ends as its last turn did.
          summary.isError = isError && !interrupted;
          if (!summary.isError) summary.failure = null;
          if (summary.isError) {
            // Claude Code 2.1 ends an API failure with is_error, subtype "success" and the status.
            if (msg.terminal_reason === "api_error" || num(msg.api_error_status) !== null)
              summary.failure = {
                kind: "api",
                status: num(msg.api_error_status),
                message: str(msg.result) ?? str(msg.api_error_type) ?? "model API error",
              };
            events.push({
              type: "error",
              message: str(msg.result) ?? `claude ended with ${str(msg.subtype) ?? "an error"}`,
            });
          }
          events.push({ type: "answered", isError, interrupted });
          return events;
        }
        default:
          return [];
      }
    },
    summary: () => ({ ...summary, review: parseReviewVerdict(summary.resultText) }),
  };
}

export const claudeAdapter: AgentAdapter = {
  type: "claude",
  keyVariables: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"],
  // Claude Code reads ANTHROPIC_BASE_URL from its environment: nothing to add to its argv.
  endpointVariable: "ANTHROPIC_BASE_URL",
  // Sessions are files under projects/<the working directory, slugged>/<session id>.jsonl.
  sessionPaths: [".claude/projects"],
  command,
  createParser,
  input: liveInput,
};
