// The real Codex CLI (the version deploy/images/agent/Dockerfile pins) in a container of the
// real-CLI image, host networking, user 1000, against the OpenAI Responses double on 127.0.0.1
// (a `-c` model provider: Codex ignores OPENAI_BASE_URL); its output through the production parser.
import { AgentContainer } from "../agent-container";
import { IMAGE_BUILD_TIMEOUT_MS, realAgentImage } from "../agent-image";
import { testSecret } from "../fixtures";
import { eventsOf, lastEvent, parseRun, runCodex } from "../real-cli";
import {
  cutTurn,
  failTurn,
  finalTurn,
  shellTurn,
  startOpenAIDouble,
  writeTurn,
  type ModelDouble,
} from "./index";

jest.setTimeout(120_000);

const apiKey = testSecret("sk-test-");
let image: string;
let box: AgentContainer;
let double: ModelDouble;
let repos = 0;

beforeAll(async () => {
  image = realAgentImage();
  box = AgentContainer.start(image, { label: "codex-real-cli" });
  double = await startOpenAIDouble();
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  box?.remove();
  await double?.close();
});
beforeEach(() => double.reset());

const newRepo = () => box.gitRepo(`/workspace/codex-${++repos}`);
const run = (options: { cwd: string; prompt: string; args?: string[] }) =>
  runCodex(box, { double, apiKey, ...options });
/** No retries: a failure ends the turn at once (Codex retries 5 streams x 4 requests by default). */
const NO_RETRIES = [
  "-c",
  "model_providers.optio.stream_max_retries=0",
  "-c",
  "model_providers.optio.request_max_retries=0",
];

describe("Codex (real CLI) against the OpenAI Responses double", () => {
  it("runs a command and a patch for real; the parser reads thread, tokens and answer", async () => {
    const repo = newRepo();
    double.play(
      [
        shellTurn("printf 'hi\\n' > hello.txt && echo wrote"),
        writeTurn(`${repo}/notes/w.txt`, "line1\nline2\n"),
        finalTurn("All done.", { thinking: "Both files are written." }),
      ],
      { usage: { inputTokens: 1000, cachedInputTokens: 200, outputTokens: 50 } },
    );
    const result = await run({ cwd: repo, prompt: "Create the two files" });

    expect(result.exitCode).toBe(0);
    expect(box.readFile(`${repo}/hello.txt`)).toBe("hi\n");
    expect(box.readFile(`${repo}/notes/w.txt`)).toBe("line1\nline2\n");

    const threadId = String(eventsOf(result, "thread.started")[0]?.thread_id);
    const requests = double.modelRequests();
    expect(double.requests).toHaveLength(3); // nothing but model requests
    expect(requests.map((r) => r.answer)).toEqual(["shell", "write", "final"]);
    for (const r of requests) {
      expect(r).toMatchObject({ path: "/v1/responses", stream: true, prompt: "Create the two files" });
      expect(r.model).toMatch(/^gpt-/);
      expect(r.headers.authorization).toBe(`Bearer ${apiKey}`);
      expect(r.headers["user-agent"]).toContain("codex_exec/0.171.0");
      expect(r.headers["thread-id"]).toBe(threadId);
      expect(r.tools).toContain("exec"); // code mode: commands run through exec's tools.exec_command
    }
    expect(requests[1]!.toolResults).toEqual([
      { callId: expect.any(String), output: expect.stringMatching(/Output:\nwrote\n$/), isError: null },
    ]);
    expect(requests[2]!.toolResults).toHaveLength(1);

    expect(result.events.map((e) => e.type)).toEqual([
      "thread.started",
      "turn.started",
      "item.started",
      "item.completed",
      "item.started",
      "item.completed",
      "item.completed",
      "item.completed",
      "turn.completed",
    ]);
    expect(eventsOf(result, "item.completed").map((e) => e.item)).toEqual([
      expect.objectContaining({
        type: "command_execution",
        aggregated_output: "wrote\n",
        exit_code: 0,
        status: "completed",
      }),
      expect.objectContaining({
        type: "file_change",
        changes: [{ path: `${repo}/notes/w.txt`, kind: "add" }],
      }),
      expect.objectContaining({ type: "reasoning", text: "Both files are written." }),
      expect.objectContaining({ type: "agent_message", text: "All done." }),
    ]);
    // The turn's usage is the sum over its three responses.
    expect(lastEvent(result)).toMatchObject({
      type: "turn.completed",
      usage: { input_tokens: 3000, cached_input_tokens: 600, output_tokens: 150 },
    });

    const { events, summary } = parseRun("codex", result);
    expect(summary).toEqual({
      sessionId: threadId,
      model: null,
      costUsd: null,
      inputTokens: 3000,
      outputTokens: 150,
      isError: false,
      resultText: "All done.",
      review: null,
      failure: null,
      limit: null,
    });
    expect(events.filter((e) => e.type === "tool_call").map((e) => e.type === "tool_call" && e.name)).toEqual(
      ["command", "file_change"],
    );
    expect(events).toContainEqual({ type: "tool_result", id: "item_0", content: "wrote\n", isError: false });
  });

  it("recovers from a 429 (after its retry-after) and a cut stream; the parser calls the run a success", async () => {
    const repo = newRepo();
    double.play([
      failTurn(429, { retryAfterS: 1 }),
      cutTurn(finalTurn("a long partial answer"), 3),
      finalTurn("Recovered."),
    ]);
    const started = Date.now();
    const result = await run({ cwd: repo, prompt: "hello" });

    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(double.requests.map((r) => r.answer)).toEqual(["fail", "cut", "final"]);
    expect(eventsOf(result, "error").map((e) => e.message)).toEqual([
      expect.stringMatching(/^Reconnecting\.\.\. 1\/5 \(.*429 Too Many Requests\)$/),
      expect.stringMatching(/^Reconnecting\.\.\. 2\/5 \(stream disconnected before completion/),
    ]);
    expect(lastEvent(result)).toMatchObject({ type: "turn.completed" });
    expect(parseRun("codex", result).summary).toMatchObject({ isError: false, resultText: "Recovered." });
  });

  it.each([
    {
      name: "401",
      turn: failTurn(401),
      message: "unexpected status 401 Unauthorized: scripted 401",
      status: 401,
    },
    {
      name: "429",
      turn: failTurn(429, { retryAfterS: 0 }),
      message: "exceeded retry limit, last status: 429",
      status: 429,
    },
    { name: "500", turn: failTurn(500), message: "high demand", status: null },
    {
      name: "a cut stream",
      turn: cutTurn(finalTurn("partial"), 3),
      message: "stream disconnected before completion",
      status: null,
    },
  ])("gives up on $name: turn.failed, exit 1", async ({ turn, message, status }) => {
    const repo = newRepo();
    double.play([], { afterScript: turn });
    const result = await run({ cwd: repo, prompt: "hello", args: NO_RETRIES });

    expect(result.exitCode).toBe(1);
    expect(double.requests).toHaveLength(1);
    const final = lastEvent(result);
    expect(final.type).toBe("turn.failed");
    expect((final.error as { message: string }).message).toContain(message);
    const { events, summary } = parseRun("codex", result);
    expect(summary.isError).toBe(true);
    expect(events.filter((e) => e.type === "error").length).toBeGreaterThan(0);
    // The parser reads the model API's failure and its status, which core classifies.
    expect(summary.failure).toEqual({ kind: "api", status, message: expect.stringContaining(message) });
  });

  it("resumes a thread in a new container given only its ~/.codex/sessions/…/rollout-…-<id>.jsonl", async () => {
    const cwd = "/workspace/resumable";
    box.gitRepo(cwd);
    double.play([shellTurn("echo first > first.txt && echo made-first"), finalTurn("First run done.")], {
      usage: { inputTokens: 1000, outputTokens: 10 },
    });
    const first = await run({ cwd, prompt: "First task" });
    expect(first.exitCode).toBe(0);
    const threadId = String(eventsOf(first, "thread.started")[0]?.thread_id);
    const rollouts = box.sh(`find ~/.codex/sessions -type f -name '*-${threadId}.jsonl'`).trim().split("\n");
    expect(rollouts).toEqual([
      expect.stringMatching(new RegExp(`/sessions/\\d{4}/\\d{2}/\\d{2}/rollout-.*-${threadId}\\.jsonl$`)),
    ]);

    const fresh = AgentContainer.start(image, { label: "codex-real-cli" });
    const bare = AgentContainer.start(image, { label: "codex-real-cli" });
    try {
      fresh.gitRepo(cwd);
      fresh.untar(box.tar(rollouts));
      double.reset();
      double.play([finalTurn("Resumed.")], { usage: { inputTokens: 7, outputTokens: 3 } });
      const resumed = await runCodex(fresh, {
        double,
        apiKey,
        cwd,
        prompt: "Second task",
        args: ["resume", threadId],
      });

      expect(resumed.exitCode).toBe(0);
      expect(eventsOf(resumed, "thread.started")[0]?.thread_id).toBe(threadId);
      const body = JSON.stringify(double.requests[0]!.body);
      for (const earlier of ["First task", "made-first", "First run done."]) expect(body).toContain(earlier);
      expect(double.requests[0]!.prompt).toBe("Second task");
      expect(JSON.parse(String(double.requests[0]!.headers["x-codex-turn-metadata"]))).toMatchObject({
        history_initialization: "cold_resume",
      });
      // turn.completed's usage on a resumed thread is the thread's total: the first run's 2 x 1000
      // input tokens and this one's 7, so a parser summing it counts earlier runs again.
      expect(lastEvent(resumed)).toMatchObject({
        type: "turn.completed",
        usage: { input_tokens: 2007, output_tokens: 23 },
      });
      expect(parseRun("codex", resumed).summary).toMatchObject({ sessionId: threadId, inputTokens: 2007 });

      // Without the file: Codex exits 1 before any request and prints no JSON at all.
      bare.gitRepo(cwd);
      double.reset();
      const lost = await runCodex(bare, {
        double,
        apiKey,
        cwd,
        prompt: "Second task",
        args: ["resume", threadId],
      });
      expect(lost.exitCode).toBe(1);
      expect(lost.stderr).toContain(`no rollout found for thread id ${threadId}`);
      expect(lost.events).toEqual([]);
      expect(double.requests).toHaveLength(0);
    } finally {
      fresh.remove();
      bare.remove();
    }
  });
});
