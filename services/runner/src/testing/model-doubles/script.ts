// TEST ONLY. What a model API double answers: a script of turns, one per model request, shared by the
// Anthropic and the OpenAI double (each renders a turn in its own API's shapes).
//   shellTurn("echo hi > hello.txt")  the model runs a shell command: Claude's `Bash` tool; Codex's
//                                      `exec` (code mode) calling `tools.exec_command`
//   writeTurn("/abs/path", "text")    the model writes a file: Claude's `Write`; Codex's `apply_patch`
//   toolTurn(name, input)             any tool call in the API's own terms (see each double)
//   finalTurn("done")                 a final text answer (optionally after a thinking block)
//   failTurn(429, { retryAfterS: 1 }) an HTTP error with the API's error body
//   cutTurn(turn, 3)                  the turn's stream, its socket destroyed after 3 SSE events

/** Token counts a turn reports (Anthropic: message usage; OpenAI: response.usage). */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Anthropic: cache_read_input_tokens; OpenAI: input_tokens_details.cached_tokens (a subset). */
  cachedInputTokens?: number;
}

export const DEFAULT_USAGE: Usage = { inputTokens: 100, outputTokens: 20, cachedInputTokens: 0 };

/** A tool call in one API's own terms. */
export interface ToolCall {
  name: string;
  /**
   * Anthropic: the tool_use input. OpenAI: an object is a `function_call` (JSON arguments), a string
   * a `custom_tool_call` (freeform input, like Codex's `exec`).
   */
  input: unknown;
}

export type ReplyTurn =
  | { kind: "final"; text: string; thinking?: string; usage?: Partial<Usage> }
  | { kind: "shell"; command: string; text?: string; usage?: Partial<Usage> }
  | { kind: "write"; path: string; content: string; text?: string; usage?: Partial<Usage> }
  | { kind: "tool"; calls: ToolCall[]; text?: string; usage?: Partial<Usage> };

export type Turn =
  | ReplyTurn
  | {
      kind: "fail";
      status: number;
      /** The error body's type (default by status, e.g. 429: rate_limit_error) and message. */
      type?: string;
      /** OpenAI's error `code` (e.g. rate_limit_exceeded, insufficient_quota). */
      code?: string;
      message?: string;
      /** Sent as the `retry-after` header (seconds). */
      retryAfterS?: number;
    }
  | { kind: "cut"; turn: ReplyTurn; afterEvents: number };

type Extra = { text?: string; usage?: Partial<Usage> };

export const finalTurn = (text: string, extra: { thinking?: string; usage?: Partial<Usage> } = {}): Turn => ({
  kind: "final",
  text,
  ...extra,
});
export const shellTurn = (command: string, extra: Extra = {}): Turn => ({ kind: "shell", command, ...extra });
export const writeTurn = (path: string, content: string, extra: Extra = {}): Turn => ({
  kind: "write",
  path,
  content,
  ...extra,
});
export const toolTurn = (name: string, input: unknown, extra: Extra = {}): Turn => ({
  kind: "tool",
  calls: [{ name, input }],
  ...extra,
});
export const failTurn = (
  status: number,
  extra: { type?: string; code?: string; message?: string; retryAfterS?: number } = {},
): Turn => ({ kind: "fail", status, ...extra });
export const cutTurn = (turn: Turn, afterEvents: number): Turn => {
  if (turn.kind === "fail" || turn.kind === "cut") throw new Error("cutTurn: cut a turn that streams");
  return { kind: "cut", turn, afterEvents };
};

export interface PlayOptions {
  /**
   * What every request after the script gets (default: finalTurn("Done.")). A tool turn here makes
   * a looping agent: the model never stops calling tools (for max-turns and budget tests).
   */
  afterScript?: Turn;
  /** Usage of every turn that sets none (default DEFAULT_USAGE). */
  usage?: Partial<Usage>;
}

/** The turn queue of one double: `play` replaces it, `next` takes the answer to one request. */
export class ScriptPlayer {
  private turns: Turn[] = [];
  private afterScript: Turn = finalTurn("Done.");
  private usage: Usage = DEFAULT_USAGE;

  play(script: readonly Turn[], options: PlayOptions = {}): void {
    this.turns = [...script];
    this.afterScript = options.afterScript ?? finalTurn("Done.");
    this.usage = { ...DEFAULT_USAGE, ...options.usage };
  }

  next(): Turn {
    return this.turns.shift() ?? this.afterScript;
  }

  /** A turn's usage, the script's default filling what it leaves out. */
  usageOf(turn: ReplyTurn): Usage {
    return { ...this.usage, ...turn.usage };
  }
}

/** The error body type each API uses for an HTTP status. */
export function defaultErrorType(status: number, api: "anthropic" | "openai"): string {
  if (api === "openai")
    return status === 401 || status === 400
      ? "invalid_request_error"
      : status === 429
        ? "requests"
        : "server_error";
  const types: Record<number, string> = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
  };
  return types[status] ?? "api_error";
}
