import type { AgentType, ReviewVerdict } from "@optio/contracts";
import type { AgentGaveUp } from "@optio/core";

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
  /** A model gateway's base URL (the adapter's `endpointVariable`), when the run has one. */
  modelBaseUrl?: string | null;
}

/** How to start the agent: argv, where stdin comes from, and extra (non-secret) environment. */
export interface AgentCommand {
  argv: string[];
  /** `prompt`: the prompt file is the agent's stdin; `none`: stdin is empty. */
  stdin: "prompt" | "none";
  env: Record<string, string>;
}

/** Tokens of model requests as the agent's stream reports them. */
export interface TokenCounts {
  /** Every input token, cached ones included. */
  inputTokens: number;
  /** Of inputTokens: read from the provider's prompt cache (priced below plain input). */
  cacheReadTokens: number;
  /** Of inputTokens: written to the prompt cache (Anthropic prices these above plain input). */
  cacheWriteTokens: number;
  outputTokens: number;
}

/**
 * What the agent's stream says it used. `message`: one model response; a later event with the same
 * `messageId` revises it (Claude Code repeats a response's usage on each of its content blocks).
 * `cumulative`: everything the session used so far, replacing what came before (Claude's final
 * `result`, Codex's `turn.completed`, which counts from the thread's start).
 */
export type UsageEvent = TokenCounts & {
  type: "usage";
  scope: "message" | "cumulative";
  messageId: string | null;
  /** The model that answered, when the stream names it (Codex's does not). */
  model: string | null;
  /** The agent's own figure (Claude's `total_cost_usd`); null: priced by whoever meters it. */
  costUsd: number | null;
};

/** Normalised events every agent's output is parsed into. */
export type AgentEvent =
  | { type: "text"; text: string }
  | { type: "tool_call"; id: string | null; name: string; input: unknown }
  | { type: "tool_result"; id: string | null; content: string; isError: boolean }
  | { type: "error"; message: string }
  /** The model API failed and the CLI tries again (status: the HTTP status, when it says). */
  | { type: "api_retry"; status: number | null; message: string }
  | UsageEvent
  /**
   * The agent began a turn: for Claude a model response with a new message id (one iteration of
   * its tool loop, sub-agents' included), for Codex a `turn.started`.
   */
  | { type: "turn" }
  | { type: "session"; sessionId: string; model: string | null };

/** A limit the agent was given and stopped itself at (Claude's `error_max_turns`, `error_max_budget_usd`). */
export type AgentLimit = "max_turns" | "max_budget";

/**
 * Why the agent gave up on its model API, when it says: the HTTP status (null for a network error
 * or a cut stream). Core's classifyRunEnd decides what each means.
 */
export type AgentFailure = AgentGaveUp;

/** What the parser learned over the whole stream. */
export interface AgentSummary {
  sessionId: string | null;
  model: string | null;
  costUsd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  /** The agent itself reported failure (e.g. Claude's `is_error`, Codex's `turn.failed`). */
  isError: boolean;
  /** The agent stopped itself at a limit it was given; null otherwise. */
  limit: AgentLimit | null;
  /** The agent's final answer, when it gives one. */
  resultText: string | null;
  /** The review verdict the final answer ends with, if any (see parseReviewVerdict). */
  review: ReviewVerdict | null;
  failure: AgentFailure | null;
}

export interface AgentParser {
  /** One line of the agent's stdout (without the newline). `null`: not agent output, keep it raw. */
  line(line: string): AgentEvent[] | null;
  summary(): AgentSummary;
}

export interface AgentAdapter {
  type: AgentType;
  /** The secrets that authenticate it to its model API: what a refused credential names. */
  keyVariables: readonly string[];
  /** The run variable naming the agent's model endpoint (given to `command` as `modelBaseUrl`). */
  endpointVariable: string | null;
  /**
   * Where the CLI keeps its sessions, relative to its home: kept after a run and restored into the
   * next run of the same task, so a resume finds the session in a new container.
   */
  sessionPaths: readonly string[];
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
  limit: null,
  resultText: null,
  review: null,
  failure: null,
});
