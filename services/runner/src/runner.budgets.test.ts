// Budgets on the real runner: looping fake agents (deploy/images/agent/test/fake-claude, fake-codex:
// FAKE_LOOP) in containers of the test agent image, metered from their streams and stopped within one
// turn of their caps. Real NATS (JetStream), Docker and a git server on 127.0.0.1; a fake dispatcher
// plays the API's side of the wire.
import type { RunLog, RunReport, RunResult } from "@optio/contracts";
import { runSpec, testConfig } from "./testing/fixtures";
import { useDockerRunnerWorld } from "./testing/docker-runner-world";

jest.setTimeout(120_000);

const config = testConfig({
  OPTIO_RUNNER_ID: "runner-budgets",
  OPTIO_RUNNER_NETWORK: "host",
  OPTIO_RUNNER_SLOTS: "2",
  OPTIO_RUNNER_HEARTBEAT_MS: "300",
  OPTIO_RUNNER_POLL_MS: "600000",
  OPTIO_RUNNER_STOP_GRACE_MS: "1500",
  OPTIO_RUNNER_SHUTDOWN_MS: "500",
});
const world = useDockerRunnerWorld(config, null);

const logLines = (reports: RunReport[]) =>
  reports.filter((r): r is RunLog => r.kind === "log").flatMap((r) => r.lines);
const resultOf = (reports: RunReport[]) => reports.find((r): r is RunResult => r.kind === "result")!;
/** The fake agents' loop turns that reached the log (one Bash/command tool call each). */
const loopTurns = (reports: RunReport[]) =>
  logLines(reports).filter((l) => l.type === "tool_call" && /^(Bash|command) /.test(l.content)).length;

async function run(repo: string, overrides: Parameters<typeof runSpec>[0]) {
  world.git.createRepo(repo);
  const spec = runSpec({ repoUrl: world.git.url(repo), image: world.image, ...overrides });
  world.dispatch(spec);
  return { spec, reports: await world.dispatcher.exited(spec.runId) };
}

describe("budgets", () => {
  it("stops a looping claude run within one turn of its cost cap and reports what it spent", async () => {
    // Each loop turn costs $0.018 at sonnet 4.5's list price: the third crosses $0.05.
    const { spec, reports } = await run("claude-cost", {
      agentType: "claude",
      prompt: "loop FAKE_LOOP=50",
      maxCostUsd: 0.05,
    });
    const error = { code: "BUDGET_EXCEEDED", message: "cost $0.0541 crossed maxCostUsd $0.0500" };
    expect(reports.at(-1)).toMatchObject({ kind: "exited", reason: "budget", error });
    // Stopped within a turn: a fourth may have begun while the container stopped (0.2 s apart).
    const turns = loopTurns(reports);
    expect([3, 4]).toContain(turns);
    // The metered spend of every turn that reached the stream, though the agent never reported a total.
    const result = resultOf(reports);
    expect(result).toMatchObject({ pushed: false, error, model: "claude-sonnet-4-5-20250929" });
    expect(result.costUsd).toBeCloseTo(0.000105 + 0.018 * turns, 6);
    expect(result).toMatchObject({ inputTokens: 10 + 1000 * turns, outputTokens: 5 + 1000 * turns });
    expect(logLines(reports).map((l) => l.content)).toContain(`stopping the run: ${error.message}`);
    expect(world.git.git("claude-cost", ["branch", "--list", spec.branchName]).trim()).toBe(""); // nothing pushed
  });

  it("stops a looping claude run on the turn after maxTurns", async () => {
    const { reports } = await run("claude-turns", {
      agentType: "claude",
      prompt: "loop FAKE_LOOP=50",
      maxTurns: 3,
    });
    expect(reports.at(-1)).toMatchObject({
      reason: "budget",
      error: { code: "BUDGET_EXCEEDED", message: "turn 4 crossed maxTurns 3" },
    });
    // Turn 1 is the fake's greeting; turn 4 (its third loop turn) crossed the cap.
    const turns = loopTurns(reports);
    expect([3, 4]).toContain(turns);
    expect(resultOf(reports).costUsd).toBeCloseTo(0.000105 + 0.018 * turns, 6);
  });

  it("reads claude stopping itself at --max-turns as a budget end", async () => {
    const { reports } = await run("claude-own-limit", {
      agentType: "claude",
      prompt: "loop FAKE_LOOP=50 FAKE_HONOUR_MAX_TURNS",
      maxTurns: 3,
    });
    expect(reports.at(-1)).toMatchObject({
      reason: "budget",
      error: { code: "BUDGET_EXCEEDED", message: "claude stopped itself at maxTurns 3 (after 3 turns)" },
    });
    // Its own total wins over the meter's figures once it reports one.
    expect(resultOf(reports)).toMatchObject({ costUsd: 0.054, inputTokens: 3000, outputTokens: 3000 });
  });

  it("meters a codex run from its cumulative turn usage, priced from the table, and stops it at its cap", async () => {
    // No model named: agent:codex's price ($1.25 in, $10 out per million): $0.00225 a turn.
    const { reports } = await run("codex-cost", {
      agentType: "codex",
      prompt: "loop FAKE_LOOP=50",
      maxCostUsd: 0.008,
    });
    expect(reports.at(-1)).toMatchObject({
      reason: "budget",
      error: { code: "BUDGET_EXCEEDED", message: "cost $0.0090 crossed maxCostUsd $0.0080" },
    });
    expect([4, 5]).toContain(loopTurns(reports));
    const result = resultOf(reports);
    expect([4000, 5000]).toContain(result.inputTokens);
    expect(result.outputTokens).toBe(result.inputTokens! / 10);
  });

  it("prices a run without caps and lets it finish", async () => {
    const { reports } = await run("codex-free", { agentType: "codex", prompt: "loop FAKE_LOOP=2" });
    expect(reports.at(-1)).toMatchObject({ reason: "completed", error: null });
    expect(resultOf(reports)).toMatchObject({ pushed: true, inputTokens: 2120, outputTokens: 215 });
    expect(resultOf(reports).costUsd).toBeCloseTo((2100 * 1.25 + 20 * 0.125 + 215 * 10) / 1e6, 9);
  });
});
