// OpenAI Codex CLI: `codex exec --json`, prompt on stdin (`-`), JSONL events on stdout:
// `thread.started` (thread_id: the session), `turn.started`, `item.started|updated|completed` with an
// item (agent_message, reasoning, command_execution, file_change, mcp_tool_call, web_search,
// todo_list, error), `turn.completed` (usage: input_tokens, cached_input_tokens, output_tokens),
// `turn.failed` (error.message) and `error` (message). A turn's usage is the thread's total since it
// started (a `cumulative` usage event), and the only usage the stream gives: Codex reports neither its
// model requests nor the model in `--json`.
import { arr, clip, num, obj, parseJsonObject, str } from "./json-line";
import {
  emptySummary,
  type AgentAdapter,
  type AgentEvent,
  type AgentFailure,
  type AgentInput,
  type AgentParser,
} from "./types";
import { parseReviewVerdict } from "./review-verdict";

/** Codex's name for the provider a gateway URL becomes (it ignores OPENAI_BASE_URL). */
export const CODEX_GATEWAY_PROVIDER = "optio";

/** A TOML basic string: the URL is checked when stored, and escaped here all the same. */
const tomlString = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function command(input: AgentInput) {
  // The container is the sandbox: Codex's own (Landlock/seccomp) and its approval prompts are off.
  const argv = [
    "codex",
    "exec",
    "--json",
    "--dangerously-bypass-approvals-and-sandbox",
    "--skip-git-repo-check",
  ];
  if (input.model) argv.push("--model", input.model);
  if (input.modelBaseUrl) {
    const provider = CODEX_GATEWAY_PROVIDER;
    argv.push(
      "-c",
      `model_providers.${provider}={name=${tomlString(provider)},base_url=${tomlString(input.modelBaseUrl)},` +
        `env_key="OPENAI_API_KEY",wire_api="responses"}`,
      "-c",
      `model_provider=${tomlString(provider)}`,
    );
  }
  // exec's options stay before the subcommand: `resume` takes them from there.
  if (input.resumeSessionId) argv.push("resume", input.resumeSessionId);
  argv.push("-"); // read the prompt from stdin
  return { argv, stdin: "prompt" as const, env: { CI: "1" } };
}

function itemEvents(item: Record<string, unknown>): AgentEvent[] {
  const id = str(item.id);
  // Older releases named the field item_type.
  switch (str(item.type) ?? str(item.item_type)) {
    case "agent_message":
      return str(item.text) ? [{ type: "text", text: str(item.text)! }] : [];
    case "command_execution":
      return [
        { type: "tool_call", id, name: "command", input: { command: item.command } },
        {
          type: "tool_result",
          id,
          content: clip(str(item.aggregated_output) ?? ""),
          isError: item.status === "failed" || (num(item.exit_code) ?? 0) !== 0,
        },
      ];
    case "file_change":
      return [
        {
          type: "tool_call",
          id,
          name: "file_change",
          input: { changes: arr(item.changes) },
        },
        {
          type: "tool_result",
          id,
          content: String(item.status ?? "completed"),
          isError: item.status === "failed",
        },
      ];
    case "mcp_tool_call":
      return [
        {
          type: "tool_call",
          id,
          name: `${str(item.server) ?? "mcp"}.${str(item.tool) ?? "tool"}`,
          input: item.arguments ?? null,
        },
        {
          type: "tool_result",
          id,
          content: String(item.status ?? "completed"),
          isError: item.status === "failed",
        },
      ];
    case "web_search":
      return [{ type: "tool_call", id, name: "web_search", input: { query: item.query } }];
    case "error":
      return [{ type: "error", message: str(item.message) ?? "codex item error" }];
    default:
      return []; // reasoning, todo_list: not part of the normalised stream
  }
}

/** Codex's notice of a retry: `Reconnecting... 2/5 (unexpected status 401 Unauthorized: …)`. */
const RETRY = /^Reconnecting\.\.\. \d+\/\d+ \((.*)\)$/s;
/** Codex names the model API's answer in its messages: `unexpected status 401`, `last status: 429`. */
const httpStatus = (message: string): number | null => {
  const match = /\bstatus:? (\d{3})\b/.exec(message);
  return match ? Number(match[1]) : null;
};
/** A model API failure Codex gave up on (a status, or a stream or connection error), else null. */
function apiFailure(message: string): AgentFailure | null {
  const status = httpStatus(message);
  if (status !== null) return { kind: "api", status, message };
  // A 500 reads "We're currently experiencing high demand…": no status in the text.
  return /stream (error|disconnected)|error sending request|connection|high demand/i.test(message)
    ? { kind: "api", status: null, message }
    : null;
}

function createParser(): AgentParser {
  const summary = emptySummary();
  // Codex reports its retries as `error` events ("Reconnecting... 2/5") and goes on: an error is
  // the run's only if no turn completes after it.
  let unresolvedError = false;
  return {
    line(line) {
      const msg = parseJsonObject(line);
      if (!msg || typeof msg.type !== "string") return null;
      switch (msg.type) {
        case "thread.started": {
          const sessionId = str(msg.thread_id);
          if (!sessionId || summary.sessionId) return [];
          summary.sessionId = sessionId;
          return [{ type: "session", sessionId, model: null }];
        }
        case "item.completed": {
          const item = obj(msg.item);
          const events = item ? itemEvents(item) : [];
          const last = events.filter((e) => e.type === "text").pop();
          if (last?.type === "text") summary.resultText = last.text;
          return events;
        }
        case "turn.started":
          return [{ type: "turn" }];
        case "turn.completed": {
          const usage = obj(msg.usage);
          // cached_input_tokens is a subset of input_tokens; both count from the thread's start.
          const input = num(usage?.input_tokens) ?? 0;
          const output = num(usage?.output_tokens) ?? 0;
          summary.inputTokens = input;
          summary.outputTokens = output;
          unresolvedError = false;
          return [
            {
              type: "usage",
              scope: "cumulative",
              messageId: null,
              model: null,
              inputTokens: input,
              cacheReadTokens: Math.min(input, num(usage?.cached_input_tokens) ?? 0),
              cacheWriteTokens: 0,
              outputTokens: output,
              costUsd: null,
            },
          ];
        }
        case "turn.failed": {
          summary.isError = true;
          const message = str(obj(msg.error)?.message) ?? "codex turn failed";
          summary.failure = apiFailure(message) ?? summary.failure;
          return [{ type: "error", message }];
        }
        case "error": {
          const message = str(msg.message) ?? "codex error";
          const retry = RETRY.exec(message);
          if (retry) return [{ type: "api_retry", status: httpStatus(retry[1]!), message: retry[1]! }];
          unresolvedError = true;
          summary.failure = apiFailure(message) ?? summary.failure;
          return [{ type: "error", message }];
        }
        default:
          return []; // item.started, item.updated
      }
    },
    summary: () => ({
      ...summary,
      isError: summary.isError || unresolvedError,
      review: parseReviewVerdict(summary.resultText),
    }),
  };
}

export const codexAdapter: AgentAdapter = {
  type: "codex",
  keyVariables: ["OPENAI_API_KEY"],
  endpointVariable: "OPENAI_BASE_URL",
  sessionPaths: [".codex/sessions"],
  command,
  createParser,
};
