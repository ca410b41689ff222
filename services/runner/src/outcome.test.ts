import type { AgentSummary } from "@optio/agents";
import { decideOutcome, parseResultLine, type OutcomeInput } from "./outcome";

const summary = (over: Partial<AgentSummary> = {}): AgentSummary => ({
  sessionId: "s1",
  model: "m",
  costUsd: 0.5,
  inputTokens: 10,
  outputTokens: 5,
  isError: false,
  limit: null,
  resultText: "done",
  review: null,
  failure: null,
  ...over,
});
const ok = { exitCode: 0, branch: "optio/x", pushed: true, commits: 2, headSha: "abc", error: null };
const input = (over: Partial<OutcomeInput> = {}): OutcomeInput => ({
  agentType: "claude",
  branchName: "optio/x",
  exit: { exitCode: 0, oomKilled: false },
  stopCause: null,
  entrypoint: ok,
  summary: summary(),
  caps: { maxCostUsd: null, maxTurns: null },
  metered: { costUsd: 0.5, inputTokens: 10, outputTokens: 5, turns: 2 },
  ...over,
});

describe("parseResultLine", () => {
  it("parses the entrypoint's result line and ignores anything else", () => {
    expect(parseResultLine(`::optio-result::${JSON.stringify(ok)}`)).toEqual(ok);
    expect(parseResultLine("::optio-result::{bad json")).toBeNull();
    expect(parseResultLine('::optio-result::{"exitCode":"x"}')).toBeNull();
    expect(parseResultLine("hello")).toBeNull();
  });
});

describe("decideOutcome", () => {
  it("completes a pushed run and carries the agent's usage", () => {
    const o = decideOutcome(input());
    expect(o.exited).toEqual({ exitCode: 0, reason: "completed", oomKilled: false, error: null });
    expect(o.result).toMatchObject({ pushed: true, commits: 2, sessionId: "s1", costUsd: 0.5, error: null });
  });

  it("lets a stop cause win over whatever the run printed", () => {
    for (const [cause, reason, code] of [
      ["cancelled", "cancelled", "CANCELLED"],
      ["superseded", "superseded", "SUPERSEDED"],
      ["lease_lost", "superseded", "SUPERSEDED"],
      ["timeout", "timeout", "RUN_TIMEOUT"],
      ["shutdown", "shutdown", "RUNNER_SHUTDOWN"],
    ] as const) {
      const o = decideOutcome(
        input({ stopCause: cause, exit: { exitCode: 143, oomKilled: false }, entrypoint: null }),
      );
      expect(o.exited).toMatchObject({ reason, error: { code }, exitCode: 143 });
      expect(o.result.pushed).toBe(false);
    }
  });

  it("classifies OOM, entrypoint errors, a missing result line, agent failures and silent agents", () => {
    expect(
      decideOutcome(input({ exit: { exitCode: 137, oomKilled: true }, entrypoint: null })).exited,
    ).toMatchObject({ reason: "oom", error: { code: "OOM_KILLED" } });
    expect(
      decideOutcome(
        input({
          exit: { exitCode: 2, oomKilled: false },
          entrypoint: {
            ...ok,
            exitCode: 1,
            pushed: false,
            commits: 0,
            error: { code: "CLONE_FAILED", message: "no" },
          },
        }),
      ).exited.error,
    ).toEqual({ code: "CLONE_FAILED", message: "no" });
    expect(
      decideOutcome(input({ exit: { exitCode: 1, oomKilled: false }, entrypoint: null })).exited.error?.code,
    ).toBe("CONTAINER_FAILED");
    expect(
      decideOutcome(input({ summary: summary({ isError: true, resultText: "max turns" }) })).exited.error,
    ).toEqual({ code: "AGENT_FAILED", message: "max turns" });
    expect(decideOutcome(input({ summary: summary({ sessionId: null }) })).exited.error?.code).toBe(
      "AGENT_NO_OUTPUT",
    );
    expect(
      decideOutcome(input({ agentType: "shell", summary: summary({ sessionId: null }) })).exited.reason,
    ).toBe("completed");
  });

  it("reports a budget stop with the cap and the spend, and the meter's figures as the run's cost", () => {
    const o = decideOutcome(
      input({
        stopCause: "budget",
        stopDetail: "cost $0.5200 crossed maxCostUsd $0.5000",
        exit: { exitCode: 143, oomKilled: false },
        entrypoint: {
          ...ok,
          exitCode: 143,
          pushed: false,
          commits: 0,
          error: { code: "CANCELLED", message: "x" },
        },
        summary: summary({ costUsd: null, inputTokens: null, outputTokens: null }),
        metered: { costUsd: 0.52, inputTokens: 9000, outputTokens: 700, turns: 4 },
      }),
    );
    const error = { code: "BUDGET_EXCEEDED", message: "cost $0.5200 crossed maxCostUsd $0.5000" };
    expect(o.exited).toEqual({ exitCode: 143, reason: "budget", oomKilled: false, error });
    expect(o.result).toMatchObject({
      costUsd: 0.52,
      inputTokens: 9000,
      outputTokens: 700,
      pushed: false,
      error,
    });
  });

  it("reads Claude stopping itself at --max-turns or --max-budget-usd as a budget end", () => {
    const failed = {
      ...ok,
      exitCode: 1,
      pushed: false,
      error: { code: "AGENT_FAILED" as const, message: "x" },
    };
    const turns = decideOutcome(
      input({
        entrypoint: failed,
        summary: summary({ isError: true, limit: "max_turns" }),
        caps: { maxCostUsd: null, maxTurns: 10 },
        metered: { costUsd: 0.1, inputTokens: 1, outputTokens: 1, turns: 10 },
      }),
    );
    expect(turns.exited.error).toEqual({
      code: "BUDGET_EXCEEDED",
      message: "claude stopped itself at maxTurns 10 (after 10 turns)",
    });
    const cost = decideOutcome(
      input({
        entrypoint: failed,
        summary: summary({ isError: true, limit: "max_budget" }),
        caps: { maxCostUsd: 0.5, maxTurns: null },
        metered: { costUsd: 0.51, inputTokens: 1, outputTokens: 1, turns: 3 },
      }),
    );
    expect(cost.exited.error?.message).toBe("claude stopped itself at maxCostUsd $0.5000 (cost $0.5100)");
  });
});
