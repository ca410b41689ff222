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
  /**
   * `prompt`: the prompt file is the agent's stdin; `none`: stdin is empty; `stream`: the prompt file
   * (the prompt as the adapter's first input line, see AgentAdapter.input), then whatever the runner
   * writes to the run's stdin while the agent runs (more messages), until the runner closes it.
   */
  stdin: "prompt" | "stream" | "none";
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
 * `cumulative`: everything used so far, replacing what came before (each Claude `result`: the
 * session's cost and its turns' tokens added up; Codex's `turn.completed`, which counts from the
 * thread's start).
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

/** An agent that reads messages on stdin while it runs (`stdin: "stream"`): its input lines. */
export interface AgentLiveInput {
  /** A user message as the line the agent reads (newline included). The prompt is the first. */
  message(text: string): string;
  /** The line that stops the agent's current turn (the next message is then its new turn). */
  interrupt(requestId: string): string;
}

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
  | { type: "session"; sessionId: string; model: string | null }
  /** (stream input) The agent took a message it was given on stdin, the prompt first. */
  | { type: "input_taken"; text: string }
  /** (stream input) The agent answered what it had taken: its turn ended (`interrupted`: stopped). */
  | { type: "answered"; isError: boolean; interrupted: boolean };

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
  /** Set when the agent takes messages while it runs (its command's stdin is then `stream`). */
  input?: AgentLiveInput;
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
