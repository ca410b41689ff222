// The model API doubles on their own, driven with fetch: the shapes they answer in, the failures
// they play, what they record. (The real CLIs against them: *.real-cli.test.ts.)
import {
  cutTurn,
  failTurn,
  finalTurn,
  shellTurn,
  startAnthropicDouble,
  startOpenAIDouble,
  toolTurn,
  writeTurn,
  type ModelDouble,
} from "./index";

let anthropic: ModelDouble;
let openai: ModelDouble;

beforeAll(async () => {
  [anthropic, openai] = await Promise.all([startAnthropicDouble(), startOpenAIDouble()]);
});
afterAll(async () => {
  await Promise.all([anthropic.close(), openai.close()]);
});
beforeEach(() => {
  anthropic.reset();
  openai.reset();
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

/** An error response's `error` object (both APIs nest it so). */
const errorOf = async (r: Response) =>
  ((await r.json()) as { error: { type: string; code?: string | null } }).error;

/** The `data:` payloads of an SSE body. */
const sseData = (text: string) =>
  text
    .split("\n\n")
    .filter(Boolean)
    .map((frame) =>
      JSON.parse(
        frame
          .split("\n")
          .find((l) => l.startsWith("data: "))!
          .slice(6),
      ),
    );

const claudeBody = (content: unknown[], stream = true) => ({
  model: "claude-test",
  stream,
  max_tokens: 100,
  tools: [{ name: "Bash" }, { name: "Write" }],
  messages: [{ role: "user", content }],
});

describe("Anthropic Messages double", () => {
  it("streams a tool_use turn, then a final turn with thinking, and records what the CLI sent", async () => {
    anthropic.play(
      [shellTurn("echo hi > hello.txt", { text: "On it." }), finalTurn("done", { thinking: "hmm" })],
      {
        usage: { inputTokens: 321, outputTokens: 45, cachedInputTokens: 7 },
      },
    );
    const first = await post(
      `${anthropic.url}/v1/messages?beta=true`,
      claudeBody([{ type: "text", text: "say hi" }]),
      {
        "x-api-key": "sk-ant-check",
      },
    );
    expect(first.headers.get("content-type")).toBe("text/event-stream");
    const events = sseData(await first.text());
    expect(events.map((e) => e.type)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events[0].message).toMatchObject({
      model: "claude-test",
      usage: { input_tokens: 321, cache_read_input_tokens: 7 },
    });
    expect(events[6].content_block).toMatchObject({ type: "tool_use", name: "Bash", input: {} });
    const json = events[7].delta.partial_json + events[8].delta.partial_json;
    expect(JSON.parse(json)).toMatchObject({ command: "echo hi > hello.txt" });
    expect(events[10]).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { output_tokens: 45 } });

    const toolUseId = events[6].content_block.id;
    const second = await post(
      `${anthropic.url}/v1/messages?beta=true`,
      claudeBody([
        { type: "tool_result", tool_use_id: toolUseId, content: [{ type: "text", text: "wrote" }] },
      ]),
    );
    const final = sseData(await second.text());
    expect(final.filter((e) => e.type === "content_block_start").map((e) => e.content_block.type)).toEqual([
      "thinking",
      "text",
    ]);
    expect(final.filter((e) => e.delta?.type === "signature_delta")).toHaveLength(1);
    expect(final.find((e) => e.type === "message_delta").delta.stop_reason).toBe("end_turn");

    const [r1, r2] = await anthropic.waitForRequests(2);
    expect(r1).toMatchObject({
      method: "POST",
      path: "/v1/messages",
      query: { beta: "true" },
      model: "claude-test",
      stream: true,
      prompt: "say hi",
      tools: ["Bash", "Write"],
      answer: "shell",
    });
    expect(r1!.headers["x-api-key"]).toBe("sk-ant-check");
    expect(r2!.toolResults).toEqual([{ callId: toolUseId, output: "wrote", isError: false }]);
    expect(anthropic.toolResults()).toHaveLength(1);
  });

  it("answers stream: false with one message, count_tokens, and 404 elsewhere", async () => {
    anthropic.play([writeTurn("/tmp/x.txt", "x\n")]);
    const message = await (
      await post(`${anthropic.url}/v1/messages`, claudeBody([{ type: "text", text: "hi" }], false))
    ).json();
    expect(message).toMatchObject({
      type: "message",
      stop_reason: "tool_use",
      content: [{ type: "tool_use", name: "Write", input: { file_path: "/tmp/x.txt", content: "x\n" } }],
    });
    const count = await post(`${anthropic.url}/v1/messages/count_tokens`, claudeBody([]));
    expect(await count.json()).toEqual({ input_tokens: expect.any(Number) });
    const missing = await fetch(`${anthropic.url}/v1/models`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    expect(anthropic.modelRequests()).toHaveLength(1);
    expect(anthropic.requests.map((r) => r.answer)).toEqual(["write", "status 200", "status 404"]);
  });

  it("plays failures: 401, 429 with retry-after, 529, 500, a cut stream; then the afterScript turn", async () => {
    anthropic.play(
      [
        failTurn(401),
        failTurn(429, { retryAfterS: 3 }),
        failTurn(529),
        failTurn(500),
        cutTurn(finalTurn("long answer"), 3),
      ],
      { afterScript: toolTurn("Read", { file_path: "/etc/hostname" }) },
    );
    const send = () => post(`${anthropic.url}/v1/messages`, claudeBody([{ type: "text", text: "x" }]));
    const r401 = await send();
    expect([r401.status, await r401.json()]).toEqual([
      401,
      { type: "error", error: { type: "authentication_error", message: "scripted 401" } },
    ]);
    const r429 = await send();
    expect([r429.status, r429.headers.get("retry-after"), (await errorOf(r429)).type]).toEqual([
      429,
      "3",
      "rate_limit_error",
    ]);
    expect((await errorOf(await send())).type).toBe("overloaded_error");
    const r500 = await send();
    expect([r500.status, (await errorOf(r500)).type]).toEqual([500, "api_error"]);
    const cut = await send();
    expect(cut.status).toBe(200);
    await expect(cut.text()).rejects.toThrow();
    for (let i = 0; i < 2; i++) {
      const looped = sseData(await (await send()).text());
      expect(looped[2].content_block).toMatchObject({ type: "tool_use", name: "Read" });
    }
    expect(anthropic.requests.map((r) => r.answer)).toEqual([
      "fail",
      "fail",
      "fail",
      "fail",
      "cut",
      "tool",
      "tool",
    ]);
  });
});

const codexBody = (input: unknown[]) => ({ model: "gpt-test", stream: true, input });

describe("OpenAI Responses double", () => {
  it("streams code-mode exec and function calls, then a message, and keeps each request's new tool outputs", async () => {
    openai.play(
      [shellTurn("echo hi"), toolTurn("exec_command", { cmd: "ls" }), finalTurn("done", { thinking: "ok" })],
      { usage: { inputTokens: 500, outputTokens: 9, cachedInputTokens: 100 } },
    );
    const user = { type: "message", role: "user", content: [{ type: "input_text", text: "do it" }] };
    const context = {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "<environment_context>x" }],
    };
    const tools = {
      type: "additional_tools",
      tools: [{ type: "namespace", name: "functions", tools: [{ type: "custom", name: "exec" }] }],
    };
    const first = sseData(
      await (
        await post(`${openai.url}/responses`, codexBody([tools, context, user]), {
          authorization: "Bearer sk-check",
        })
      ).text(),
    );
    expect(first.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.custom_tool_call_input.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const exec = first[4].item;
    expect(exec).toMatchObject({ type: "custom_tool_call", name: "exec" });
    expect(exec.input).toContain('tools.exec_command({ cmd: "echo hi" })');
    expect(first[5].response.usage).toEqual({
      input_tokens: 500,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 509,
    });
    expect(first.map((e) => e.sequence_number)).toEqual([0, 1, 2, 3, 4, 5]);

    const out1 = {
      type: "custom_tool_call_output",
      call_id: exec.call_id,
      output: [{ type: "input_text", text: "hi\n" }],
    };
    const second = sseData(
      await (await post(`${openai.url}/responses`, codexBody([context, user, exec, out1]))).text(),
    );
    const fn = second.find((e) => e.type === "response.output_item.done").item;
    expect(fn).toMatchObject({ type: "function_call", name: "exec_command", arguments: '{"cmd":"ls"}' });

    const out2 = { type: "function_call_output", call_id: fn.call_id, output: "README.md\n" };
    const third = sseData(
      await (await post(`${openai.url}/responses`, codexBody([context, user, exec, out1, fn, out2]))).text(),
    );
    expect(third.filter((e) => e.type === "response.output_item.done").map((e) => e.item.type)).toEqual([
      "reasoning",
      "message",
    ]);
    expect(
      third
        .filter((e) => e.type === "response.output_text.delta")
        .map((e) => e.delta)
        .join(""),
    ).toBe("done");

    const recorded = await openai.waitForRequests(3);
    expect(recorded[0]).toMatchObject({
      path: "/v1/responses",
      model: "gpt-test",
      prompt: "do it",
      tools: ["exec"],
    });
    expect(recorded[0]!.headers.authorization).toBe("Bearer sk-check");
    expect(recorded.map((r) => r.toolResults)).toEqual([
      [],
      [{ callId: exec.call_id, output: "hi\n", isError: null }],
      [{ callId: fn.call_id, output: "README.md\n", isError: null }],
    ]);
  });

  it("plays failures with OpenAI's error body, a cut stream, and a looping agent", async () => {
    openai.play(
      [failTurn(401), failTurn(429, { retryAfterS: 2 }), failTurn(503), cutTurn(finalTurn("x"), 2)],
      {
        afterScript: shellTurn("echo again"),
      },
    );
    const send = () => post(`${openai.url}/responses`, codexBody([]));
    const r401 = await send();
    expect([r401.status, await r401.json()]).toEqual([
      401,
      {
        error: {
          message: "scripted 401",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      },
    ]);
    const r429 = await send();
    expect([r429.status, r429.headers.get("retry-after"), (await errorOf(r429)).code]).toEqual([
      429,
      "2",
      "rate_limit_exceeded",
    ]);
    expect((await send()).status).toBe(503);
    await expect((await send()).text()).rejects.toThrow();
    for (let i = 0; i < 3; i++) expect(await (await send()).text()).toContain("echo again");
    expect(openai.requests.map((r) => r.answer)).toEqual([
      "fail",
      "fail",
      "fail",
      "cut",
      "shell",
      "shell",
      "shell",
    ]);
    expect((await fetch(`${openai.url}/models`)).status).toBe(404);
  });

  it("waits for requests, and says how many came when they do not", async () => {
    openai.play([]);
    const waiting = openai.waitForRequests(1, 2_000);
    await post(`${openai.url}/responses`, { model: "m", stream: false, input: [] });
    expect((await waiting)[0]).toMatchObject({ stream: false, answer: "final" });
    await expect(openai.waitForRequests(5, 50)).rejects.toThrow("1 of 5 requests arrived in 50 ms");
  });
});
