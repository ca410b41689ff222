// OpenAI Codex CLI: `codex exec --json`, prompt on stdin (`-`), JSONL events on stdout:
// `thread.started` (thread_id: the session), `turn.started`, `item.started|updated|completed` with an
// item (agent_message, reasoning, command_execution, file_change, mcp_tool_call, web_search,
// todo_list, error), `turn.completed` (usage: input_tokens, cached_input_tokens, output_tokens),
// `turn.failed` (error.message) and `error` (message). A turn's usage is the thread's total since it
// started (a `cumulative` usage event), and the only usage the stream gives: Codex reports neither its
// model requests nor the model in `--json`.
import { arr, clip, num, obj, parseJsonObject, str } from "./json-line";
import { emptySummary, type AgentAdapter, type AgentEvent, type AgentInput, type AgentParser } from "./types";
import { parseReviewVerdict } from "./review-verdict";

function command(input: AgentInput) {
  const argv = ["codex", "exec", "--json", "--full-auto", "--skip-git-repo-check"];
  if (input.model) argv.push("--model", input.model);
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

function createParser(): AgentParser {
  const summary = emptySummary();
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
        case "turn.failed":
          summary.isError = true;
          return [{ type: "error", message: str(obj(msg.error)?.message) ?? "codex turn failed" }];
        case "error":
          summary.isError = true;
          return [{ type: "error", message: str(msg.message) ?? "codex error" }];
        default:
          return []; // item.started, item.updated
      }
    },
    summary: () => ({ ...summary, review: parseReviewVerdict(summary.resultText) }),
  };
}

export const codexAdapter: AgentAdapter = { type: "codex", command, createParser };
