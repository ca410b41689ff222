// What a run's end was, from what the engine, the entrypoint and the agent said: the first half of
// "what an exit means" (run-outcome.ts is the second: what that end means for the task). Pure; the
// runner reports what this decides, the API acts on it.

/**
 * Why the runner itself stopped the run, if it did. `budget`: its meter saw a cap crossed.
 * `agent_failed`: what the agent printed showed it could not succeed (its model API refused its
 * credentials), so waiting for it to give up was pointless; its failure says why.
 */
export type StopCause =
  "cancelled" | "superseded" | "timeout" | "lease_lost" | "shutdown" | "budget" | "agent_failed";

export type RunEndReason =
  "completed" | "cancelled" | "superseded" | "timeout" | "oom" | "error" | "shutdown" | "budget";

/** The error codes this module decides; an entrypoint's own code (`C`) passes through as it is. */
export type RunEndCode =
  | "CANCELLED"
  | "SUPERSEDED"
  | "RUN_TIMEOUT"
  | "RUNNER_SHUTDOWN"
  | "OOM_KILLED"
  | "CONTAINER_FAILED"
  | "AGENT_FAILED"
  | "AGENT_NO_OUTPUT"
  | "AGENT_AUTH_FAILED"
  | "AGENT_API_UNAVAILABLE"
  | "BUDGET_EXCEEDED";

/** Why the agent gave up on its model API, as its parser read it (@optio/agents' AgentFailure). */
export type AgentGaveUp = { kind: "api"; status: number | null; message: string };

export interface RunEndInput<C extends string> {
  /** Shell runs have no agent session to expect. */
  agentType: string;
  exit: { exitCode: number | null; oomKilled: boolean };
  stopCause: StopCause | null;
  /** What the stop's error says instead of its default message (the cap and the spend of a budget stop). */
  stopDetail?: string | null;
  /** The entrypoint's result line, or null when the run ended before writing one. */
  entrypoint: { exitCode: number; error: { code: C; message: string } | null } | null;
  agent: {
    isError: boolean;
    resultText: string | null;
    sessionId: string | null;
    failure?: AgentGaveUp | null;
    /** The agent stopped itself at a cap it was given (Claude's --max-turns): what that was. */
    stoppedAtLimit?: string | null;
  };
  /** What an auth failure's message tells the user to check, e.g. "the secret ANTHROPIC_API_KEY". */
  credentials?: string;
}

export interface RunEnd<C extends string> {
  reason: RunEndReason;
  error: { code: C | RunEndCode; message: string } | null;
}

const STOPPED: Record<StopCause, RunEnd<never>> = {
  cancelled: { reason: "cancelled", error: { code: "CANCELLED", message: "the run was cancelled" } },
  superseded: {
    reason: "superseded",
    error: { code: "SUPERSEDED", message: "a newer attempt owns this task" },
  },
  lease_lost: { reason: "superseded", error: { code: "SUPERSEDED", message: "the run's lease was lost" } },
  timeout: { reason: "timeout", error: { code: "RUN_TIMEOUT", message: "the run exceeded its time limit" } },
  shutdown: {
    reason: "shutdown",
    error: { code: "RUNNER_SHUTDOWN", message: "the runner shut down during the run" },
  },
  budget: { reason: "budget", error: { code: "BUDGET_EXCEEDED", message: "the run crossed a budget cap" } },
  agent_failed: { reason: "error", error: { code: "AGENT_FAILED", message: "the runner stopped the agent" } },
};

/**
 * What the agent giving up on its model API means: its credentials refused (a person must fix a
 * secret), or the API unavailable after the CLI's own retries (infrastructure: worth another attempt).
 */
function agentGaveUp<C extends string>({ status, message }: AgentGaveUp, credentials: string): RunEnd<C> {
  if (status === 401 || status === 403)
    return {
      reason: "error",
      error: {
        code: "AGENT_AUTH_FAILED",
        message: `the model API refused the agent's credentials (HTTP ${status}): check ${credentials}`,
      },
    };
  return {
    reason: "error",
    error: {
      code: "AGENT_API_UNAVAILABLE",
      message: `the model API ${status === null ? "could not be reached" : `answered HTTP ${status}`} and the agent gave up: ${message.slice(0, 300)}`,
    },
  };
}

/** The end of a run the runner stopped itself (it never got to a result); `detail` replaces the message. */
export function stoppedRunEnd(cause: StopCause, detail?: string | null): RunEnd<never> {
  const end = STOPPED[cause];
  return detail ? { reason: end.reason, error: { code: end.error!.code, message: detail } } : end;
}

/**
 * In order of precedence: the runner's own stop, the kernel's OOM kill, the agent stopping at a cap
 * it was given (its exit makes the entrypoint report a failure), the entrypoint's error (clone,
 * push), no result at all, the agent's failure, an agent that produced no session.
 */
export function classifyRunEnd<C extends string>(input: RunEndInput<C>): RunEnd<C> {
  const { exit, entrypoint, agent } = input;
  const credentials = input.credentials ?? "the agent's key";
  if (input.stopCause === "agent_failed" && agent.failure) return agentGaveUp(agent.failure, credentials);
  if (input.stopCause) return stoppedRunEnd(input.stopCause, input.stopDetail);
  if (exit.oomKilled)
    return {
      reason: "oom",
      error: { code: "OOM_KILLED", message: "the run was killed: it exceeded its memory limit" },
    };
  if (agent.stoppedAtLimit)
    return { reason: "budget", error: { code: "BUDGET_EXCEEDED", message: agent.stoppedAtLimit } };
  // The agent's own account of its failure says more than the entrypoint's "exited with 1".
  if (agent.isError && agent.failure && (!entrypoint?.error || entrypoint.error.code === "AGENT_FAILED"))
    return agentGaveUp(agent.failure, credentials);
  if (entrypoint?.error) return { reason: "error", error: entrypoint.error };
  if (!entrypoint)
    return {
      reason: "error",
      error: {
        code: "CONTAINER_FAILED",
        message: `the run exited with ${exit.exitCode ?? "a signal"} before reporting a result`,
      },
    };
  if (agent.isError || entrypoint.exitCode !== 0)
    return {
      reason: "error",
      error: {
        code: "AGENT_FAILED",
        message: agent.resultText?.slice(0, 500) || `the agent exited with ${entrypoint.exitCode}`,
      },
    };
  if (input.agentType !== "shell" && !agent.sessionId)
    return {
      reason: "error",
      error: { code: "AGENT_NO_OUTPUT", message: "the agent produced no session (no recognisable output)" },
    };
  return { reason: "completed", error: null };
}

/**
 * The error of a run that ended without a result (only its exit was reported): the one it was
 * reported with, else what its end reason implies.
 */
export function errorOfBareExit<C extends string>(exit: {
  reason: RunEndReason;
  exitCode: number | null;
  oomKilled: boolean;
  error: { code: C; message: string } | null;
}): { code: C | RunEndCode; message: string } {
  if (exit.error) return exit.error;
  if (exit.oomKilled) return { code: "OOM_KILLED", message: "The container ran out of memory" };
  if (exit.reason === "timeout")
    return { code: "RUN_TIMEOUT", message: "The run exceeded the repo's runTimeoutSeconds" };
  if (exit.reason === "shutdown")
    return { code: "RUNNER_SHUTDOWN", message: "The runner shut down before the run finished" };
  if (exit.reason === "budget") return { code: "BUDGET_EXCEEDED", message: "The run crossed a budget cap" };
  return {
    code: "AGENT_NO_OUTPUT",
    message: `The run exited (${exit.reason}, code ${exit.exitCode}) without a result`,
  };
}
