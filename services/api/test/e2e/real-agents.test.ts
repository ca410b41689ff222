// The real agent CLIs through the whole of Optio: tasks run Claude Code 2.1.332 and Codex 0.171.0
// (the versions deploy/images/agent/Dockerfile pins, in optio/agent-real:<hash>) in runner
// containers, against stateful doubles of the Anthropic Messages and OpenAI Responses APIs, reached
// through the model endpoint secrets (ANTHROPIC_BASE_URL; OPENAI_BASE_URL as a Codex provider). The
// CLIs' own tool calls make the changes; Optio commits, pushes and opens the PR on the GitHub double;
// a failing check gets a fix-up run that resumes the session on another runner; the review subtask
// is the real CLI's verdict. Containers use host networking to reach the doubles on 127.0.0.1.
import { randomBytes } from "node:crypto";
import { realAgentImage, IMAGE_BUILD_TIMEOUT_MS } from "../../../runner/src/testing/agent-image";
import {
  failTurn,
  finalTurn,
  shellTurn,
  startAnthropicDouble,
  startOpenAIDouble,
  type ModelDouble,
} from "../../../runner/src/testing/model-doubles";
import { testSecret } from "../../../runner/src/testing/fixtures";
import { startGitHubDouble, type GitHubDouble } from "../support/github-double";
import { eventually, removeRunnerLeftovers, startE2eStack, type E2eStack, type RunnerProcess } from "./stack";

jest.setTimeout(240_000);

const anthropicKey = testSecret("sk-ant-");
const openaiKey = testSecret("sk-proj-");
let github: GitHubDouble;
let claude: ModelDouble;
let codex: ModelDouble;
let stack: E2eStack;
let image: string;
const runners: RunnerProcess[] = [];

const RUNNER_ENV = () => ({ OPTIO_RUNNER_IMAGE: image, OPTIO_RUNNER_MEMORY_MB: "1536" });
const startRunner = async (id: string) => {
  const runner = await stack.startRunner(id, RUNNER_ENV());
  runners.push(runner);
  return runner;
};

beforeAll(async () => {
  image = realAgentImage();
  github = await startGitHubDouble();
  [claude, codex] = await Promise.all([startAnthropicDouble(), startOpenAIDouble()]);
  stack = await startE2eStack({
    config: {
      OPTIO_DEFAULT_IMAGE: image,
      OPTIO_GITHUB_URL: github.webUrl,
      GITHUB_WEBHOOK_SECRET: testSecret("whsec-"),
      OPTIO_PR_SWEEP_MS: 250,
      OPTIO_PR_POLL_MS: 500,
    },
    sideEffects: { intervalMs: 200, retryBaseMs: 100 },
  });
  await stack.ctx.app.listen({ port: 0, host: "127.0.0.1" });
  stack.ctx.prLoop.watcher.start();
  for (const [name, value] of Object.entries({
    GITHUB_TOKEN: github.token,
    ANTHROPIC_API_KEY: anthropicKey,
    ANTHROPIC_BASE_URL: claude.url,
    OPENAI_API_KEY: openaiKey,
    OPENAI_BASE_URL: codex.url,
  }))
    await stack.ctx.http.post("/api/secrets").set(auth()).send({ name, value }).expect(201);
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const runner of runners) removeRunnerLeftovers(runner.id);
  await stack?.close();
  await Promise.all([claude?.close(), codex?.close(), github?.close()]);
});
afterEach(async () => {
  for (const runner of runners.splice(0)) {
    await runner.stop();
    removeRunnerLeftovers(runner.id);
  }
});

const auth = () => ({ authorization: `Bearer ${stack.token}` });
const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const runsOf = (taskId: string) =>
  stack.ctx.prisma.run.findMany({ where: { taskId }, orderBy: { attempt: "asc" } });
const ended = (state: string) => ["completed", "failed", "needs_attention", "cancelled"].includes(state);

async function waitForState(taskId: string, state: string, timeoutMs = 120_000) {
  const task = await eventually(
    `task ${state}`,
    () => taskOf(taskId),
    (t) => t.state === state || (ended(t.state) && t.state !== state),
    timeoutMs,
  );
  expect(`${task.state}${task.state === state ? "" : `: ${task.errorMessage}`}`).toBe(state);
  return task;
}

/** A GitHub repo connected to Optio with the PR loop on. */
async function connectedRepo(settings: Record<string, unknown> = {}) {
  const name = `real-${randomBytes(3).toString("hex")}`;
  const ref = github.createRepo("acme", name);
  const repo = await stack.ctx.http
    .post("/api/repos")
    .set(auth())
    .send({ repoUrl: `${github.webUrl}/acme/${name}`, ...settings })
    .expect(201);
  return { ref, name, repoUrl: `${github.webUrl}/acme/${name}`, id: repo.body.repo.id as string };
}

async function createTask(body: Record<string, unknown>) {
  const res = await stack.ctx.http.post("/api/tasks").set(auth()).send(body).expect(201);
  return res.body.task.id as string;
}

const fileOnBranch = (name: string, branch: string, file: string) =>
  github.git.git(`acme/${name}`, ["show", `${branch}:${file}`]);

describe("Claude Code, for real", () => {
  it("makes the change with its own tool call, gets a PR, resumes its session on another runner to fix a failing check, and reviews it", async () => {
    const repo = await connectedRepo({
      autoResume: true,
      reviewEnabled: true,
      reviewTrigger: "on_ci_pass",
      autoMerge: true,
      mergeMethod: "squash",
    });
    await startRunner("real-claude-a");
    claude.reset();
    claude.play(
      [shellTurn("echo 'Hello, Optio' > greeting.txt && echo wrote"), finalTurn("Added greeting.txt.")],
      { usage: { inputTokens: 1200, outputTokens: 80 } },
    );
    const taskId = await createTask({
      title: "Greet the user",
      prompt: "Add a greeting file",
      repoUrl: repo.repoUrl,
      agentType: "claude",
      model: "claude-sonnet-4-6",
    });
    const opened = await waitForState(taskId, "pr_opened");
    expect(fileOnBranch(repo.name, opened.branchName!, "greeting.txt")).toBe("Hello, Optio\n");
    expect(github.pulls(repo.ref)).toHaveLength(1);

    // The CLI talked to the double with the stored key, the task's model, and the task's prompt.
    const [first, second] = claude.modelRequests();
    expect(first!.headers["x-api-key"]).toBe(anthropicKey);
    expect(first!.model).toBe("claude-sonnet-4-6");
    expect(first!.prompt).toContain("Add a greeting file");
    expect(second!.toolResults.map((r) => r.output)).toEqual([expect.stringMatching(/^wrote\n/)]);
    const [run1] = await runsOf(taskId);
    expect(run1).toMatchObject({ state: "succeeded", runnerId: "real-claude-a", model: "claude-sonnet-4-6" });
    expect(run1!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run1!.inputTokens).toBeGreaterThanOrEqual(2400);
    expect(Number(run1!.costUsd)).toBeGreaterThan(0);

    // A failing check while the first runner is gone: the fix-up resumes the same session on runner B.
    await runners.shift()!.stop();
    await startRunner("real-claude-b");
    claude.reset();
    claude.play([
      shellTurn("echo 'Hello, Optio!' > greeting.txt && echo fixed"),
      finalTurn("Fixed the greeting."),
    ]);
    const pull = github.pulls(repo.ref)[0]!;
    github.setCheckRun(
      repo.ref,
      { pull: pull.number },
      {
        name: "test",
        status: "completed",
        conclusion: "failure",
        summary: "greeting lacks an exclamation mark",
      },
    );
    const fixUp = await eventually(
      "the fix-up run succeeded",
      async () => (await runsOf(taskId)).find((r) => r.kind === "resume"),
      (run) => run?.state === "succeeded" || run?.state === "failed",
      120_000,
    );
    expect(fixUp).toMatchObject({ state: "succeeded", runnerId: "real-claude-b" });
    expect(fixUp!.resumeSessionId).toBe(run1!.sessionId);
    // Claude Code continued the session: the same id, and the model saw the first run's history.
    expect(fixUp!.sessionId).toBe(run1!.sessionId);
    const resumed = claude.modelRequests()[0]!;
    expect(JSON.stringify(resumed.body)).toContain("Add a greeting file");
    expect(resumed.prompt).toContain("greeting lacks an exclamation mark");
    const restored = await stack.ctx.prisma.taskLog.findMany({
      where: { runId: fixUp!.id, stream: "system" },
    });
    expect(restored.some((l) => l.content.includes("cannot be restored"))).toBe(false);
    await waitForState(taskId, "pr_opened");
    expect(fileOnBranch(repo.name, opened.branchName!, "greeting.txt")).toBe("Hello, Optio!\n");

    // CI passes: the review subtask is the real CLI's verdict; approved, the PR is merged.
    claude.reset();
    claude.play([finalTurn("The greeting is right and tested.\n\nOPTIO_REVIEW_VERDICT: approve")]);
    github.setCheckRun(
      repo.ref,
      { pull: pull.number },
      { name: "test", status: "completed", conclusion: "success" },
    );
    const review = await eventually(
      "the review subtask",
      () => stack.ctx.prisma.task.findFirst({ where: { parentId: taskId, taskType: "review" } }),
      (row) => row !== null,
      60_000,
    );
    await waitForState(review!.id, "completed");
    expect(claude.modelRequests()[0]!.prompt).toContain("OPTIO_REVIEW_VERDICT");
    const done = await waitForState(taskId, "completed");

    // The task sums its runs' tokens and cost.
    const runs = await runsOf(taskId);
    const sum = (pick: (r: (typeof runs)[number]) => number) => runs.reduce((total, r) => total + pick(r), 0);
    expect(Number(done.inputTokens)).toBe(sum((r) => r.inputTokens ?? 0));
    expect(Number(done.costUsd)).toBeCloseTo(
      sum((r) => Number(r.costUsd ?? 0)),
      6,
    );
    expect(runs.length).toBe(2);
  });

  it("a refused key stops the run at the CLI's first retry and asks for attention, naming the secret", async () => {
    const repo = await connectedRepo();
    await startRunner("real-claude-auth");
    claude.reset();
    claude.play([], { afterScript: failTurn(401) });
    const started = Date.now();
    const taskId = await createTask({ prompt: "Anything", repoUrl: repo.repoUrl, agentType: "claude" });
    const task = await waitForState(taskId, "needs_attention", 60_000);
    // Claude Code alone would retry the 401 ten times, for minutes.
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(claude.modelRequests().length).toBeLessThanOrEqual(3);
    expect(task.errorMessage).toMatch(/AGENT_AUTH_FAILED: .*HTTP 401.*check the secret ANTHROPIC_API_KEY/);
  });
});

describe("budgets, with the real CLI", () => {
  it("a Claude Code that never stops calling tools is stopped within one turn of its cost cap", async () => {
    const repo = await connectedRepo();
    await startRunner("real-budget");
    claude.reset();
    // Every answer another Bash call: 1000 input and 100 output tokens a turn, $0.0045 at
    // claude-sonnet-4-5's list price; the cap of $0.01 is crossed by the third turn.
    claude.play([], {
      afterScript: shellTurn("echo again >> loop.txt && echo looped"),
      usage: { inputTokens: 1000, outputTokens: 100 },
    });
    const taskId = await createTask({
      prompt: "Loop forever",
      repoUrl: repo.repoUrl,
      agentType: "claude",
      model: "claude-sonnet-4-5",
      maxCostUsd: 0.01,
    });
    const task = await waitForState(taskId, "needs_attention");
    expect(task.errorMessage).toMatch(/^BUDGET_EXCEEDED: .*0\.01/);
    // Turn 3 crossed the cap; the CLI may have sent turn 4's request before the container stopped.
    const turns = claude.modelRequests().length;
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(turns).toBeLessThanOrEqual(4);
    const [run] = await runsOf(taskId);
    expect(Number(run!.costUsd)).toBeGreaterThanOrEqual(0.01);
    expect(Number(run!.costUsd)).toBeLessThan(0.01 + 2 * 0.0045);
    expect(run!.errorCode).toBe("BUDGET_EXCEEDED");
  });
});

describe("Codex, for real", () => {
  it("answers through the gateway provider; resumed on another runner, its thread goes on and its shell tool makes the PR", async () => {
    const repo = await connectedRepo();
    await startRunner("real-codex-a");
    codex.reset();
    codex.play([finalTurn("I looked around; nothing to change yet.")], {
      usage: { inputTokens: 900, outputTokens: 40 },
    });
    const taskId = await createTask({
      prompt: "Look at the repository",
      repoUrl: repo.repoUrl,
      agentType: "codex",
      model: "gpt-5.1-codex",
    });
    await waitForState(taskId, "needs_attention");
    const first = codex.modelRequests()[0]!;
    expect(first.headers.authorization).toBe(`Bearer ${openaiKey}`);
    expect(first.model).toBe("gpt-5.1-codex");
    expect(first.prompt).toContain("Look at the repository");
    const [run1] = await runsOf(taskId);
    expect(run1!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run1!.inputTokens).toBe(900);

    await runners.shift()!.stop();
    await startRunner("real-codex-b");
    codex.reset();
    codex.play([
      shellTurn("printf 'codex was here\\n' > codex.txt && echo ok"),
      finalTurn("Wrote codex.txt."),
    ]);
    await stack.ctx.http
      .post(`/api/tasks/${taskId}/resume`)
      .set(auth())
      .send({ prompt: "Now write codex.txt" })
      .expect(200);
    const opened = await waitForState(taskId, "pr_opened");
    expect(fileOnBranch(repo.name, opened.branchName!, "codex.txt")).toBe("codex was here\n");
    const [, run2] = await runsOf(taskId);
    expect(run2).toMatchObject({ runnerId: "real-codex-b", resumeSessionId: run1!.sessionId });
    // The same thread, its history restored: the model was sent the first run's prompt again.
    expect(run2!.sessionId).toBe(run1!.sessionId);
    const resumed = codex.modelRequests()[0]!;
    expect(resumed.prompt).toContain("Now write codex.txt");
    expect(JSON.stringify(resumed.body)).toContain("Look at the repository");
    expect(
      codex
        .toolResults()
        .map((r) => r.output)
        .join("\n"),
    ).toContain("ok");
  });
});
