// The real Claude Code CLI (the version deploy/images/agent/Dockerfile pins) in a container of the
// real-CLI image, host networking, user 1000, against the Anthropic double on 127.0.0.1; its
// argv from the production adapter, its output through the production parser.
import { AgentContainer } from "../agent-container";
import { IMAGE_BUILD_TIMEOUT_MS, realAgentImage } from "../agent-image";
import { testSecret } from "../fixtures";
import { eventsOf, lastEvent, parseRun, runClaude } from "../real-cli";
import {
  cutTurn,
  DEFAULT_USAGE,
  failTurn,
  finalTurn,
  shellTurn,
  startAnthropicDouble,
  writeTurn,
  type ModelDouble,
} from "./index";

jest.setTimeout(120_000);

const apiKey = testSecret("sk-ant-test-");
let image: string;
let box: AgentContainer;
let double: ModelDouble;
let repos = 0;

beforeAll(async () => {
  image = realAgentImage();
  box = AgentContainer.start(image, { label: "claude-real-cli" });
  double = await startAnthropicDouble();
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  box?.remove();
  await double?.close();
});
beforeEach(() => double.reset());

const newRepo = () => box.gitRepo(`/workspace/claude-${++repos}`);
const run = (options: Omit<Parameters<typeof runClaude>[1], "double" | "apiKey">) =>
  runClaude(box, { double, apiKey, ...options });

describe("Claude Code (real CLI) against the Anthropic double", () => {
  it("runs Bash and Write for real; the parser reads session, tokens, cost and answer", async () => {
    const repo = newRepo();
    const usage = { inputTokens: 1000, cachedInputTokens: 200, outputTokens: 50 };
    double.play(
      [
        shellTurn("printf 'hi\\n' > hello.txt && echo wrote"),
        writeTurn(`${repo}/notes/w.txt`, "line1\nline2\n"),
        finalTurn("All done.", { thinking: "Both files are written." }),
      ],
      { usage },
    );
    const result = await run({ cwd: repo, prompt: "Create the two files" });

    expect(result.exitCode).toBe(0);
    expect(box.readFile(`${repo}/hello.txt`)).toBe("hi\n");
    expect(box.readFile(`${repo}/notes/w.txt`)).toBe("line1\nline2\n");

    const requests = double.modelRequests();
    expect(requests.map((r) => r.answer)).toEqual(["shell", "write", "final"]);
    const init = eventsOf(result, "system", "init")[0]!;
    for (const r of requests) {
      expect(r).toMatchObject({
        path: "/v1/messages",
        query: { beta: "true" },
        stream: true,
        model: init.model,
      });
      expect(r.headers["x-api-key"]).toBe(apiKey);
      expect(r.headers["user-agent"]).toContain("claude-cli/2.1.332");
      expect(r.prompt).toBe("Create the two files");
      expect(r.tools).toEqual(expect.arrayContaining(["Bash", "Write", "Edit", "Read"]));
    }
    expect(double.requests).toHaveLength(3); // nothing but model requests
    expect(requests[1]!.toolResults).toEqual([
      { callId: expect.any(String), output: "wrote", isError: false },
    ]);
    expect(requests[2]!.toolResults[0]!.output).toContain("File created successfully");

    const final = lastEvent(result);
    expect(final).toMatchObject({
      type: "result",
      subtype: "success",
      is_error: false,
      result: "All done.",
      session_id: init.session_id,
      num_turns: 3,
      usage: { input_tokens: 3000, cache_read_input_tokens: 600, output_tokens: 150 },
    });
    expect(final.total_cost_usd).toBeGreaterThan(0);

    const { events, summary } = parseRun("claude", result);
    expect(summary).toEqual({
      sessionId: init.session_id,
      model: init.model,
      costUsd: final.total_cost_usd,
      inputTokens: 3600, // input + cache reads
      outputTokens: 150,
      isError: false,
      resultText: "All done.",
      review: null,
      failure: null,
      limit: null,
    });
    expect(events).toContainEqual({
      type: "tool_call",
      id: expect.any(String),
      name: "Bash",
      input: expect.objectContaining({ command: "printf 'hi\\n' > hello.txt && echo wrote" }),
    });
    expect(events).toContainEqual({
      type: "tool_result",
      id: expect.any(String),
      content: "wrote",
      isError: false,
    });
  });

  it("waits out a 429's retry-after and retries a cut stream, then succeeds", async () => {
    const repo = newRepo();
    double.play([
      failTurn(429, { retryAfterS: 1 }),
      cutTurn(finalTurn("a long partial answer"), 4),
      finalTurn("Recovered."),
    ]);
    const result = await run({ cwd: repo, prompt: "hello" });

    expect(result.exitCode).toBe(0);
    expect(double.requests.map((r) => [r.answer, r.stream])).toEqual([
      ["fail", true],
      ["cut", true],
      ["final", true],
    ]);
    const retries = eventsOf(result, "system", "api_retry");
    expect(retries).toMatchObject([
      { attempt: 1, max_retries: 10, error_status: 429, error: "rate_limit" },
      { attempt: 2, max_retries: 10, error_status: null },
    ]);
    expect(retries[0]!.retry_delay_ms).toBeGreaterThanOrEqual(1000);
    expect(lastEvent(result)).toMatchObject({
      type: "result",
      subtype: "success",
      is_error: false,
      result: "Recovered.",
    });
    expect(parseRun("claude", result).summary).toMatchObject({ isError: false, resultText: "Recovered." });
  });

  // Claude Code retries every API error, a 401 too (10 times by default: ~2.5 minutes of backoff
  // for a bad key); CLAUDE_CODE_MAX_RETRIES=1 keeps these to one retry.
  it.each([
    { name: "401", turn: failTurn(401), status: 401, type: "authentication_error", streams: [true, true] },
    { name: "529", turn: failTurn(529), status: 529, type: "overloaded_error", streams: [true, true] },
    { name: "500", turn: failTurn(500), status: 500, type: "api_error", streams: [true, true] },
    // After the retried stream dies too, Claude Code tries once more without streaming.
    {
      name: "a cut stream",
      turn: cutTurn(finalTurn("partial"), 3),
      status: null,
      type: undefined,
      streams: [true, true, false],
    },
  ])("gives up on $name: exit 1, an is_error result naming it", async ({ turn, status, type, streams }) => {
    const repo = newRepo();
    double.play([], { afterScript: turn });
    const result = await run({ cwd: repo, prompt: "hello", env: { CLAUDE_CODE_MAX_RETRIES: "1" } });

    expect(result.exitCode).toBe(1);
    expect(double.requests.map((r) => r.stream)).toEqual(streams);
    const final = lastEvent(result);
    expect(final).toMatchObject({
      type: "result",
      is_error: true,
      terminal_reason: "api_error",
      api_error_status: status,
    });
    if (type) expect(final.api_error_type).toBe(type);
    else expect(final.api_error).toBe("connection_failed");
    expect(final.result).toContain("API Error: ");
    const { events, summary } = parseRun("claude", result);
    expect(summary.isError).toBe(true);
    expect(events).toContainEqual({ type: "error", message: final.result });
    // The parser reads why: the status core classifies (401: AGENT_AUTH_FAILED, else unavailable),
    // and the retry the runner stops a refused credential at.
    expect(summary.failure).toEqual({ kind: "api", status, message: final.result });
    expect(events).toContainEqual(expect.objectContaining({ type: "api_retry", status }));
  });

  it("--max-turns stops a model that never stops calling tools", async () => {
    const repo = newRepo();
    double.play([], { afterScript: shellTurn("echo again >> loop.txt") });
    const result = await run({ cwd: repo, prompt: "loop", maxTurns: 2 });

    expect(result.exitCode).toBe(1);
    expect(double.requests).toHaveLength(2);
    expect(box.readFile(`${repo}/loop.txt`)).toBe("again\nagain\n");
    expect(lastEvent(result)).toMatchObject({
      type: "result",
      subtype: "error_max_turns",
      is_error: true,
      terminal_reason: "max_turns",
      errors: ["Reached maximum number of turns (2)"],
    });
    expect(parseRun("claude", result).summary).toMatchObject({
      isError: true,
      inputTokens: 200,
      outputTokens: 40,
      limit: "max_turns",
      failure: null,
    });
  });

  it("resumes a session in a new container given only ~/.claude/projects/<cwd-slug>/<id>.jsonl", async () => {
    const cwd = "/workspace/resumable";
    box.gitRepo(cwd);
    double.play([shellTurn("echo first > first.txt && echo made-first"), finalTurn("First run done.")]);
    const first = await run({ cwd, prompt: "First task" });
    expect(first.exitCode).toBe(0);
    const sessionId = String(lastEvent(first).session_id);
    const transcript = `/home/agent/.claude/projects/-workspace-resumable/${sessionId}.jsonl`;
    expect(box.sh("find ~/.claude/projects -type f")).toContain(transcript);

    const fresh = AgentContainer.start(image, { label: "claude-real-cli" });
    const bare = AgentContainer.start(image, { label: "claude-real-cli" });
    try {
      fresh.gitRepo(cwd);
      fresh.untar(box.tar([transcript]));
      double.reset();
      double.play([finalTurn("Resumed.")]);
      const resumed = await runClaude(fresh, {
        double,
        apiKey,
        cwd,
        prompt: "Second task",
        resumeSessionId: sessionId,
      });

      expect(resumed.exitCode).toBe(0);
      // Unlike Codex's, the result's usage is this run's alone (one request of DEFAULT_USAGE).
      expect(lastEvent(resumed)).toMatchObject({
        usage: { input_tokens: DEFAULT_USAGE.inputTokens, output_tokens: DEFAULT_USAGE.outputTokens },
      });
      expect(lastEvent(resumed)).toMatchObject({
        type: "result",
        subtype: "success",
        session_id: sessionId,
        result: "Resumed.",
      });
      expect(parseRun("claude", resumed).summary.sessionId).toBe(sessionId);
      // The model saw the whole earlier conversation, then the new prompt.
      const body = JSON.stringify(double.requests[0]!.body);
      for (const earlier of ["First task", "made-first", "First run done."]) expect(body).toContain(earlier);
      expect(double.requests[0]!.prompt).toBe("Second task");

      // The same transcript resumes from another working directory too.
      fresh.gitRepo("/workspace/elsewhere");
      double.play([finalTurn("Resumed elsewhere.")]);
      const elsewhere = await runClaude(fresh, {
        double,
        apiKey,
        cwd: "/workspace/elsewhere",
        prompt: "Third task",
        resumeSessionId: sessionId,
      });
      expect(lastEvent(elsewhere)).toMatchObject({ subtype: "success", session_id: sessionId });

      // Without the file: no request at all, exit 1.
      bare.gitRepo(cwd);
      double.reset();
      const lost = await runClaude(bare, {
        double,
        apiKey,
        cwd,
        prompt: "Second task",
        resumeSessionId: sessionId,
      });
      expect(lost.exitCode).toBe(1);
      expect(lost.stderr).toContain(`No conversation found with session ID: ${sessionId}`);
      expect(lastEvent(lost)).toMatchObject({
        type: "result",
        subtype: "error_during_execution",
        is_error: true,
      });
      expect(double.requests).toHaveLength(0);
    } finally {
      fresh.remove();
      bare.remove();
    }
  });
});
