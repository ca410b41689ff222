import { classifyRunEnd, errorOfBareExit, stoppedRunEnd, type RunEndInput } from "./run-exit";

const input = (over: Partial<RunEndInput<"CLONE_FAILED">> = {}): RunEndInput<"CLONE_FAILED"> => ({
  agentType: "claude",
  exit: { exitCode: 0, oomKilled: false },
  stopCause: null,
  entrypoint: { exitCode: 0, error: null },
  agent: { isError: false, resultText: "done", sessionId: "s1" },
  ...over,
});
const code = (over: Partial<RunEndInput<"CLONE_FAILED">>) => classifyRunEnd(input(over)).error?.code;

describe("classifyRunEnd", () => {
  it("a clean exit with a session is completed", () => {
    expect(classifyRunEnd(input())).toEqual({ reason: "completed", error: null });
  });

  it("decides in order: the runner's stop, OOM, the entrypoint's error, no result, the agent", () => {
    const oom = { exitCode: 137, oomKilled: true };
    const cloneFailed = { exitCode: 1, error: { code: "CLONE_FAILED" as const, message: "no such repo" } };
    expect(code({ stopCause: "cancelled", exit: oom })).toBe("CANCELLED");
    expect(code({ exit: oom, entrypoint: cloneFailed })).toBe("OOM_KILLED");
    expect(
      code({ entrypoint: cloneFailed, agent: { isError: true, resultText: null, sessionId: null } }),
    ).toBe("CLONE_FAILED");
    expect(code({ entrypoint: null, exit: { exitCode: 2, oomKilled: false } })).toBe("CONTAINER_FAILED");
    expect(code({ entrypoint: { exitCode: 3, error: null } })).toBe("AGENT_FAILED");
    expect(code({ agent: { isError: true, resultText: "boom", sessionId: "s1" } })).toBe("AGENT_FAILED");
  });

  it("reads the agent's own failure: refused credentials, the model API given up on", () => {
    const gaveUp = (failure: NonNullable<RunEndInput<never>["agent"]["failure"]>) => ({
      entrypoint: {
        exitCode: 1,
        error: { code: "AGENT_FAILED" as never, message: "the agent exited with 1" },
      },
      agent: { isError: true, resultText: "API Error", sessionId: "s1", failure },
      credentials: "the secret ANTHROPIC_API_KEY",
    });
    expect(classifyRunEnd(input(gaveUp({ kind: "api", status: 401, message: "invalid x-api-key" })))).toEqual(
      expect.objectContaining({
        error: {
          code: "AGENT_AUTH_FAILED",
          message: expect.stringContaining("check the secret ANTHROPIC_API_KEY"),
        },
      }),
    );
    expect(code(gaveUp({ kind: "api", status: 529, message: "Overloaded" }))).toBe("AGENT_API_UNAVAILABLE");
    expect(code(gaveUp({ kind: "api", status: null, message: "stream disconnected" }))).toBe(
      "AGENT_API_UNAVAILABLE",
    );
    // The runner stopped it at the first refused retry: the failure wins over the stop's own error.
    const stopped = {
      ...gaveUp({ kind: "api", status: 403, message: "forbidden" }),
      stopCause: "agent_failed" as const,
    };
    expect(code(stopped)).toBe("AGENT_AUTH_FAILED");
    expect(code({ ...stopped, stopCause: "cancelled" })).toBe("CANCELLED");
  });

  it("a budget stop names the cap and the spend; an agent stopping at its own cap is a budget end too", () => {
    const detail = "turn 11 crossed maxTurns 10";
    expect(classifyRunEnd(input({ stopCause: "budget", stopDetail: detail }))).toEqual({
      reason: "budget",
      error: { code: "BUDGET_EXCEEDED", message: detail },
    });
    expect(stoppedRunEnd("budget").error?.code).toBe("BUDGET_EXCEEDED");
    // Claude stopped itself at --max-turns: it exited 1, so the entrypoint reported a failure.
    const agent = {
      isError: true,
      resultText: null,
      sessionId: "s1",
      stoppedAtLimit: "claude stopped at maxTurns 10",
    };
    const failed = {
      exitCode: 1,
      error: { code: "CLONE_FAILED" as const, message: "the agent exited with 1" },
    };
    expect(classifyRunEnd(input({ agent, entrypoint: failed }))).toEqual({
      reason: "budget",
      error: { code: "BUDGET_EXCEEDED", message: "claude stopped at maxTurns 10" },
    });
    expect(code({ agent, stopCause: "cancelled" })).toBe("CANCELLED");
  });

  it("an agent without a session produced nothing; a shell run needs none", () => {
    const agent = { isError: false, resultText: null, sessionId: null };
    expect(code({ agent })).toBe("AGENT_NO_OUTPUT");
    expect(classifyRunEnd(input({ agent, agentType: "shell" })).reason).toBe("completed");
  });

  it("a lost lease ends the run as superseded, a timeout and a shutdown by their own reasons", () => {
    expect(stoppedRunEnd("lease_lost").reason).toBe("superseded");
    expect(stoppedRunEnd("timeout")).toMatchObject({ reason: "timeout", error: { code: "RUN_TIMEOUT" } });
    expect(stoppedRunEnd("shutdown").error?.code).toBe("RUNNER_SHUTDOWN");
  });
});

describe("errorOfBareExit", () => {
  const bare = { reason: "error" as const, exitCode: 1, oomKilled: false, error: null };
  it("keeps a reported error, else infers one from how the run ended", () => {
    const reported = { code: "CLONE_FAILED" as const, message: "x" };
    expect(errorOfBareExit({ ...bare, error: reported })).toBe(reported);
    expect(errorOfBareExit({ ...bare, oomKilled: true }).code).toBe("OOM_KILLED");
    expect(errorOfBareExit({ ...bare, reason: "timeout" }).code).toBe("RUN_TIMEOUT");
    expect(errorOfBareExit({ ...bare, reason: "shutdown" }).code).toBe("RUNNER_SHUTDOWN");
    expect(errorOfBareExit({ ...bare, reason: "budget" }).code).toBe("BUDGET_EXCEEDED");
    expect(errorOfBareExit(bare).code).toBe("AGENT_NO_OUTPUT");
  });
});
