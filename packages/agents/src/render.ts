import type { LogType } from "@optio/contracts";
import { clip } from "./json-line";
import type { AgentEvent } from "./types";

/**
 * How a normalised event is stored as a log line: a type, a human line, structured data; null for
 * events kept out of the log (turn marks, each response's usage: only the totals are logged, and the
 * end of a turn that was not interrupted).
 */
export function renderEvent(event: AgentEvent): {
  type: LogType;
  content: string;
  data?: Record<string, unknown>;
} | null {
  switch (event.type) {
    case "text":
      return { type: "text", content: event.text };
    case "tool_call":
      return {
        type: "tool_call",
        content: `${event.name} ${summariseInput(event.input)}`.trim(),
        data: { toolName: event.name, toolUseId: event.id, toolInput: event.input },
      };
    case "tool_result":
      return {
        type: "tool_result",
        content: event.content,
        data: { toolUseId: event.id, isError: event.isError },
      };
    case "error":
      return { type: "error", content: event.message };
    case "api_retry":
      return {
        type: "error",
        content: `model API ${event.status ?? "unreachable"}, retrying: ${event.message}`,
        data: { apiStatus: event.status, retrying: true },
      };
    case "usage":
      if (event.scope === "message") return null;
      return {
        type: "usage",
        content: `tokens in ${event.inputTokens} / out ${event.outputTokens}${event.costUsd === null ? "" : ` · $${event.costUsd.toFixed(4)}`}`,
        data: {
          inputTokens: event.inputTokens,
          cacheReadTokens: event.cacheReadTokens,
          cacheWriteTokens: event.cacheWriteTokens,
          outputTokens: event.outputTokens,
          costUsd: event.costUsd,
        },
      };
    case "turn":
      return null;
    case "session":
      return {
        type: "session",
        content: `session ${event.sessionId}${event.model ? ` (${event.model})` : ""}`,
        data: { sessionId: event.sessionId, model: event.model },
      };
    case "input_taken":
      return { type: "system", content: `the agent took a message: ${clip(event.text, 1000)}` };
    case "answered":
      return event.interrupted ? { type: "system", content: "the agent's turn was interrupted" } : null;
  }
}

function summariseInput(input: unknown): string {
  if (input === null || input === undefined) return "";
  const text = typeof input === "string" ? input : JSON.stringify(input);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
