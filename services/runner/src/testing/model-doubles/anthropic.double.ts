// TEST ONLY. A stateful double of Anthropic's Messages API on 127.0.0.1, for the real Claude Code CLI
// (ANTHROPIC_BASE_URL=double.url). Claude Code 2.1.332 with CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
// sends nothing but `POST /v1/messages?beta=true` (stream: true, header x-api-key); the double also
// answers `stream: false` with one JSON message, `POST /v1/messages/count_tokens`, and 404 with
// Anthropic's error body elsewhere. Turns render as:
//   shell  -> tool_use `Bash` {command, description}
//   write  -> tool_use `Write` {file_path, content} (the path must be absolute)
//   tool   -> tool_use {name, input} per call
//   final  -> an optional `thinking` block, then the text; stop_reason end_turn
import {
  startHttpDouble,
  type Exchange,
  type ModelDouble,
  type SseEvent,
  type ToolResult,
} from "./http-double";
import { defaultErrorType, type ReplyTurn, type Turn, type Usage } from "./script";

type Block =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

interface MessagesBody {
  model?: unknown;
  stream?: unknown;
  messages?: Array<{ role?: unknown; content?: unknown }>;
  tools?: Array<{ name?: unknown }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const blocksOf = (content: unknown): Record<string, unknown>[] =>
  typeof content === "string"
    ? [{ type: "text", text: content }]
    : Array.isArray(content)
      ? content.filter(isObject)
      : [];
const textOf = (content: unknown): string =>
  blocksOf(content)
    .map((b) => (b.type === "text" && typeof b.text === "string" ? b.text : ""))
    .join("");

/** The user's own words: text blocks Claude Code did not add as context (<system-reminder>). */
const userText = (content: unknown): string =>
  blocksOf(content)
    .filter((b) => b.type === "text" && typeof b.text === "string" && !b.text.startsWith("<system-reminder>"))
    .map((b) => b.text as string)
    .join("");

function extract(exchange: Exchange) {
  const body = (isObject(exchange.body) ? exchange.body : {}) as MessagesBody;
  const users = (body.messages ?? []).filter((m) => m.role === "user");
  const last = users.at(-1);
  const toolResults: ToolResult[] = blocksOf(last?.content)
    .filter((b) => b.type === "tool_result")
    .map((b) => ({
      callId: typeof b.tool_use_id === "string" ? b.tool_use_id : null,
      output: textOf(b.content),
      isError: b.is_error === true,
    }));
  const prompt =
    [...users]
      .reverse()
      .map((m) => userText(m.content))
      .find((text) => text !== "") ?? null;
  return {
    model: typeof body.model === "string" ? body.model : null,
    stream: body.stream === true,
    prompt,
    toolResults,
    tools: (body.tools ?? []).map((t) => String(t.name)),
  };
}

export async function startAnthropicDouble(): Promise<ModelDouble> {
  let ids = 0;
  const id = (prefix: string) => `${prefix}_double${String(++ids).padStart(4, "0")}`;

  const blocks = (turn: ReplyTurn): { blocks: Block[]; stop: string } => {
    const text: Block[] =
      "text" in turn && turn.text && turn.kind !== "final" ? [{ type: "text", text: turn.text }] : [];
    const tool = (name: string, input: unknown): Block => ({
      type: "tool_use",
      id: id("toolu"),
      name,
      input,
    });
    switch (turn.kind) {
      case "final":
        return {
          blocks: [
            ...(turn.thinking
              ? [{ type: "thinking" as const, thinking: turn.thinking, signature: `sig-${id("th")}` }]
              : []),
            { type: "text", text: turn.text },
          ],
          stop: "end_turn",
        };
      case "shell":
        return {
          blocks: [...text, tool("Bash", { command: turn.command, description: "Run the scripted command" })],
          stop: "tool_use",
        };
      case "write":
        return {
          blocks: [...text, tool("Write", { file_path: turn.path, content: turn.content })],
          stop: "tool_use",
        };
      case "tool":
        return { blocks: [...text, ...turn.calls.map((c) => tool(c.name, c.input))], stop: "tool_use" };
    }
  };

  const usageFields = (usage: Usage) => ({
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cachedInputTokens ?? 0,
  });
  const modelOf = (exchange: Exchange) => extract(exchange).model ?? "claude-double";
  /** A string in two pieces, so the CLI has to join deltas. */
  const halves = (s: string) => [s.slice(0, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))];

  return startHttpDouble({
    urlSuffix: "",
    isModelRequest: (ex) => ex.method === "POST" && ex.path === "/v1/messages",
    extract,
    streamEvents(turn, usage, exchange) {
      const { blocks: content, stop } = blocks(turn);
      const events: SseEvent[] = [
        {
          type: "message_start",
          message: {
            id: id("msg"),
            type: "message",
            role: "assistant",
            model: modelOf(exchange),
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { ...usageFields(usage), output_tokens: 1 },
          },
        },
        { type: "ping" },
      ];
      content.forEach((block, index) => {
        const start = (content_block: unknown) =>
          events.push({ type: "content_block_start", index, content_block });
        const delta = (d: unknown) => events.push({ type: "content_block_delta", index, delta: d });
        if (block.type === "text") {
          start({ type: "text", text: "" });
          for (const piece of halves(block.text)) delta({ type: "text_delta", text: piece });
        } else if (block.type === "thinking") {
          start({ type: "thinking", thinking: "", signature: "" });
          for (const piece of halves(block.thinking)) delta({ type: "thinking_delta", thinking: piece });
          delta({ type: "signature_delta", signature: block.signature });
        } else {
          start({ type: "tool_use", id: block.id, name: block.name, input: {} });
          for (const piece of halves(JSON.stringify(block.input)))
            delta({ type: "input_json_delta", partial_json: piece });
        }
        events.push({ type: "content_block_stop", index });
      });
      events.push(
        {
          type: "message_delta",
          delta: { stop_reason: stop, stop_sequence: null },
          usage: { output_tokens: usage.outputTokens },
        },
        { type: "message_stop" },
      );
      return events;
    },
    jsonBody(turn, usage, exchange) {
      const { blocks: content, stop } = blocks(turn);
      return {
        id: id("msg"),
        type: "message",
        role: "assistant",
        model: modelOf(exchange),
        content,
        stop_reason: stop,
        stop_sequence: null,
        usage: { ...usageFields(usage), output_tokens: usage.outputTokens },
      };
    },
    errorBody: (turn: Extract<Turn, { kind: "fail" }>) => ({
      type: "error",
      error: {
        type: turn.type ?? defaultErrorType(turn.status, "anthropic"),
        message: turn.message ?? `scripted ${turn.status}`,
      },
    }),
    other(exchange) {
      if (exchange.method === "POST" && exchange.path === "/v1/messages/count_tokens")
        return { status: 200, body: { input_tokens: Math.ceil(JSON.stringify(exchange.body).length / 4) } };
      return {
        status: 404,
        body: {
          type: "error",
          error: { type: "not_found_error", message: `${exchange.method} ${exchange.path}` },
        },
      };
    },
  });
}
