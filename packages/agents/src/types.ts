import type { AgentType, ReviewVerdict } from "@optio/contracts";

/** What an agent run needs from the run spec to build its command. */
export interface AgentInput {
  prompt: string;
  /** Absolute path, inside the run's environment, of a file holding the prompt. */
  promptFile: string;
  model?: string | null;
  maxTurns?: number | null;
  /** The agent's own spending cap, where its CLI has one (Claude Code's --max-budget-usd). */
  maxBudgetUsd?: number | null;
  resumeSessionId?: string | null;
}

/** How to start the agent: argv, where stdin comes from, and extra (non-secret) environment. */
export interface AgentCommand {
  argv: string[];
  /** `prompt`: the prompt file is the agent's stdin; `none`: stdin is empty. */
  stdin: "prompt" | "none";
  env: Record<string, string>;
}

/** Normalised events every agent's output is parsed into. */
export type AgentEvent =
  | { type: "text"; text: string }
  | { type: "tool_call"; id: string | null; name: string; input: unknown }
  | { type: "tool_result"; id: string | null; content: string; isError: boolean }
  | { type: "error"; message: string }
  | { type: "usage"; inputTokens: number; outputTokens: number; costUsd: number | null }
  | { type: "session"; sessionId: string; model: string | null };

/** What the parser learned over the whole stream. */
export interface AgentSummary {
  sessionId: string | null;
  model: string | null;
  costUsd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  /** The agent itself reported failure (e.g. Claude's `is_error`, Codex's `turn.failed`). */
  isError: boolean;
  /** The agent's final answer, when it gives one. */
  resultText: string | null;
  /** The review verdict the final answer ends with, if any (see parseReviewVerdict). */
  review: ReviewVerdict | null;
}

export interface AgentParser {
  /** One line of the agent's stdout (without the newline). `null`: not agent output, keep it raw. */
  line(line: string): AgentEvent[] | null;
  summary(): AgentSummary;
}

export interface AgentAdapter {
  type: AgentType;
  command(input: AgentInput): AgentCommand;
  createParser(): AgentParser;
}

export const emptySummary = (): AgentSummary => ({
  sessionId: null,
  model: null,
  costUsd: null,
  inputTokens: null,
  outputTokens: null,
  isError: false,
  resultText: null,
  review: null,
});
