// TEST ONLY. A stateful double of OpenAI's Responses API on 127.0.0.1, for the real Codex CLI, which
// ignores OPENAI_BASE_URL: give it a provider, `-c 'model_providers.optio={name="optio",
// base_url="<double.url>",env_key="OPENAI_API_KEY",wire_api="responses"}' -c model_provider=optio`
// (codexProviderArgs). Codex 0.171.0 sends nothing but `POST /v1/responses` (stream: true, header
// `authorization: Bearer <key>`); it offers its tools in an `additional_tools` input item, and in
// its default code mode the one way to run a command is the freeform tool `exec`: JavaScript that
// calls `tools.exec_command({cmd})`. A direct `function_call` of `exec_command` ({cmd}) works too,
// though not offered. Turns render as:
//   shell  -> custom_tool_call `exec`: `text((await tools.exec_command({cmd})).output)`
//   write  -> custom_tool_call `exec`: `tools.apply_patch("*** Begin Patch\n*** Add File: …")`
//   (a resumed thread is offered no `exec`, only the function `exec_command`: both turns call it)
//   tool   -> per call: a string input is a custom_tool_call, an object a function_call
//   final  -> an optional reasoning item, then an assistant message
import {
  startHttpDouble,
  type Exchange,
  type ModelDouble,
  type SseEvent,
  type ToolResult,
} from "./http-double";
import { defaultErrorType, type ReplyTurn, type Turn, type Usage } from "./script";

type Item = Record<string, unknown> & { type: string; id: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content
          .filter(isObject)
          .map((c) => (typeof c.text === "string" ? c.text : ""))
          .join("")
      : "";

/** Codex's own context messages, not the user's prompt. */
const CONTEXT_PREFIXES = ["<environment_context>", "<user_instructions>", "# AGENTS.md"];
const TOOL_OUTPUTS = new Set(["function_call_output", "custom_tool_call_output"]);

function toolNames(tools: unknown, prefix = ""): string[] {
  if (!Array.isArray(tools)) return [];
  return tools
    .filter(isObject)
    .flatMap((t) =>
      t.type === "namespace"
        ? toolNames(t.tools, t.name === "functions" ? "" : `${String(t.name)}.`)
        : [`${prefix}${String(t.name)}`],
    );
}

function extract(exchange: Exchange) {
  const body = isObject(exchange.body) ? exchange.body : {};
  const input = Array.isArray(body.input) ? body.input.filter(isObject) : [];
  const prompt =
    [...input]
      .reverse()
      .filter((i) => i.type === "message" && i.role === "user")
      .map((i) => textOf(i.content))
      .find((text) => !CONTEXT_PREFIXES.some((p) => text.startsWith(p))) ?? null;
  // Outputs of every tool call in the history (the double keeps those of its last answer).
  const toolResults: ToolResult[] = input
    .filter((i) => TOOL_OUTPUTS.has(String(i.type)))
    .map((i) => ({
      callId: typeof i.call_id === "string" ? i.call_id : null,
      output: textOf(i.output),
      isError: null,
    }));
  return {
    model: typeof body.model === "string" ? body.model : null,
    stream: body.stream === true,
    prompt,
    toolResults,
    tools: [
      ...toolNames(body.tools),
      ...input.filter((i) => i.type === "additional_tools").flatMap((i) => toolNames(i.tools)),
    ],
  };
}

/** `-c` arguments pointing Codex at a Responses API at `baseUrl` (the key from OPENAI_API_KEY). */
export function codexProviderArgs(baseUrl: string, name = "optio"): string[] {
  return [
    "-c",
    `model_providers.${name}={name="${name}",base_url="${baseUrl}",env_key="OPENAI_API_KEY",wire_api="responses"}`,
    "-c",
    `model_provider=${name}`,
  ];
}

/** The same provider as a `config.toml` (for argv that must stay exactly the adapter's). */
export function codexProviderToml(baseUrl: string, name = "optio"): string {
  return [
    `model_provider = "${name}"`,
    `[model_providers.${name}]`,
    `name = "${name}"`,
    `base_url = "${baseUrl}"`,
    `env_key = "OPENAI_API_KEY"`,
    `wire_api = "responses"`,
    "",
  ].join("\n");
}

const execShell = (command: string) =>
  `const r = await tools.exec_command({ cmd: ${JSON.stringify(command)} });\ntext(r.output);`;
const execAddFile = (path: string, content: string) => {
  const lines = content
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => `+${l}`);
  const patch = ["*** Begin Patch", `*** Add File: ${path}`, ...lines, "*** End Patch"].join("\n");
  return `text(await tools.apply_patch(${JSON.stringify(patch)}));`;
};

export async function startOpenAIDouble(): Promise<ModelDouble> {
  let ids = 0;
  /** Call ids answered with and not yet sent back: a request's tool results are the outputs for them. */
  const pending = new Set<string>();
  const id = (prefix: string) => `${prefix}_double${String(++ids).padStart(4, "0")}`;
  const message = (text: string): Item => ({
    type: "message",
    id: id("msg"),
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  });
  const callId = () => {
    const call = id("call");
    pending.add(call);
    return call;
  };
  const custom = (name: string, input: string): Item => ({
    type: "custom_tool_call",
    id: id("ctc"),
    call_id: callId(),
    name,
    input,
    status: "completed",
  });
  const fn = (name: string, args: unknown): Item => ({
    type: "function_call",
    id: id("fc"),
    call_id: callId(),
    name,
    arguments: JSON.stringify(args),
    status: "completed",
  });

  /**
   * How the model runs a command: through `exec` where the CLI offers it (code mode, a new thread);
   * a resumed thread (history_initialization "cold_resume") offers `exec_command` as a plain function.
   */
  const run = (exchange: Exchange, script: string, command: string): Item =>
    extract(exchange).tools.includes("exec") ? custom("exec", script) : fn("exec_command", { cmd: command });
  const quoted = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;

  const items = (turn: ReplyTurn, exchange: Exchange): Item[] => {
    const text = turn.kind !== "final" && turn.text ? [message(turn.text)] : [];
    switch (turn.kind) {
      case "final":
        return [
          ...(turn.thinking
            ? [{ type: "reasoning", id: id("rs"), summary: [{ type: "summary_text", text: turn.thinking }] }]
            : []),
          message(turn.text),
        ];
      case "shell":
        return [...text, run(exchange, execShell(turn.command), turn.command)];
      case "write":
        return [
          ...text,
          run(
            exchange,
            execAddFile(turn.path, turn.content),
            `printf %s ${quoted(turn.content)} > ${quoted(turn.path)}`,
          ),
        ];
      case "tool":
        return [
          ...text,
          ...turn.calls.map((c) =>
            typeof c.input === "string" ? custom(c.name, c.input) : fn(c.name, c.input),
          ),
        ];
    }
  };

  const response = (exchange: Exchange, status: string, output: Item[], usage?: Usage) => ({
    id: id("resp"),
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model:
      (isObject(exchange.body) && typeof exchange.body.model === "string" && exchange.body.model) ||
      "gpt-double",
    output,
    ...(usage && {
      usage: {
        input_tokens: usage.inputTokens,
        input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
        output_tokens: usage.outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.inputTokens + usage.outputTokens,
      },
    }),
  });

  return startHttpDouble({
    urlSuffix: "/v1",
    isModelRequest: (ex) => ex.method === "POST" && ex.path === "/v1/responses",
    extract(exchange) {
      const facts = extract(exchange);
      const toolResults = facts.toolResults.filter((r) => r.callId !== null && pending.delete(r.callId));
      return { ...facts, toolResults };
    },
    streamEvents(turn, usage, exchange) {
      const output = items(turn, exchange);
      const events: SseEvent[] = [
        { type: "response.created", response: response(exchange, "in_progress", []) },
        { type: "response.in_progress", response: response(exchange, "in_progress", []) },
      ];
      output.forEach((item, output_index) => {
        const pending: Record<string, Partial<Item>> = {
          message: { status: "in_progress", content: [] },
          function_call: { status: "in_progress", arguments: "" },
          custom_tool_call: { status: "in_progress", input: "" },
        };
        const added = { ...item, ...pending[item.type] };
        events.push({ type: "response.output_item.added", output_index, item: added });
        if (item.type === "message") {
          const text = textOf(item.content);
          const at = { item_id: item.id, output_index, content_index: 0 };
          events.push(
            {
              type: "response.content_part.added",
              ...at,
              part: { type: "output_text", text: "", annotations: [] },
            },
            { type: "response.output_text.delta", ...at, delta: text.slice(0, Math.ceil(text.length / 2)) },
            { type: "response.output_text.delta", ...at, delta: text.slice(Math.ceil(text.length / 2)) },
            { type: "response.output_text.done", ...at, text },
            { type: "response.content_part.done", ...at, part: (item.content as unknown[])[0] },
          );
        } else if (item.type === "function_call") {
          events.push({
            type: "response.function_call_arguments.done",
            item_id: item.id,
            output_index,
            arguments: item.arguments,
          });
        } else if (item.type === "custom_tool_call") {
          events.push({
            type: "response.custom_tool_call_input.done",
            item_id: item.id,
            output_index,
            input: item.input,
          });
        }
        events.push({ type: "response.output_item.done", output_index, item });
      });
      events.push({ type: "response.completed", response: response(exchange, "completed", output, usage) });
      return events.map((e, sequence_number) => ({ ...e, sequence_number }));
    },
    jsonBody: (turn, usage, exchange) => response(exchange, "completed", items(turn, exchange), usage),
    errorBody: (turn: Extract<Turn, { kind: "fail" }>) => ({
      error: {
        message: turn.message ?? `scripted ${turn.status}`,
        type: turn.type ?? defaultErrorType(turn.status, "openai"),
        param: null,
        code:
          turn.code ??
          (turn.status === 429 ? "rate_limit_exceeded" : turn.status === 401 ? "invalid_api_key" : null),
      },
    }),
    other: (exchange) => ({
      status: 404,
      body: {
        error: {
          message: `Invalid URL (${exchange.method} ${exchange.path})`,
          type: "invalid_request_error",
          param: null,
          code: null,
        },
      },
    }),
  });
}
