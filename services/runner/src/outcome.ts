// Pure: what a finished run reports (result + exited), from what the engine, the entrypoint and the
// agent's parser said. The runner's "what happened" logic, testable without an engine.
import { z } from "zod";
import type { AgentSummary } from "@optio/agents";
import {
  RunErrorCode,
  type AgentType,
  type ExitReason,
  type ReviewVerdict,
  type RunError,
} from "@optio/contracts";
import type { RunExit } from "./driver";

export const RESULT_PREFIX = "::optio-result::";

/** The entrypoint's last stdout line (deploy/images/agent/optio-run.sh). */
export const EntrypointResult = z.object({
  exitCode: z.number().int(),
  branch: z.string(),
  pushed: z.boolean(),
  commits: z.number().int().min(0),
  headSha: z.string().nullable(),
  error: z.object({ code: RunErrorCode, message: z.string() }).nullable(),
});
export type EntrypointResult = z.infer<typeof EntrypointResult>;

export function parseResultLine(line: string): EntrypointResult | null {
  if (!line.startsWith(RESULT_PREFIX)) return null;
  try {
    const parsed = EntrypointResult.safeParse(JSON.parse(line.slice(RESULT_PREFIX.length)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Why the runner itself stopped the run, if it did. */
export type StopCause = "cancelled" | "superseded" | "timeout" | "lease_lost" | "shutdown";

export interface OutcomeInput {
  agentType: AgentType;
  branchName: string;
  exit: RunExit;
  stopCause: StopCause | null;
  entrypoint: EntrypointResult | null;
  summary: AgentSummary;
}

export interface Outcome {
  result: {
    exitCode: number;
    branch: string;
    pushed: boolean;
    commits: number;
    headSha: string | null;
    sessionId: string | null;
    model: string | null;
    costUsd: number | null;
    inputTokens: number | null;
    outputTokens: number | null;
    error: RunError | null;
    review: ReviewVerdict | null;
  };
  exited: { exitCode: number | null; reason: ExitReason; oomKilled: boolean; error: RunError | null };
}

const STOPPED: Record<StopCause, { reason: ExitReason; error: RunError }> = {
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
};

export function stoppedOutcome(cause: StopCause): { reason: ExitReason; error: RunError } {
  return STOPPED[cause];
}

export function decideOutcome(input: OutcomeInput): Outcome {
  const { exit, entrypoint, summary } = input;
  let error: RunError | null = null;
  let reason: ExitReason = "completed";

  if (input.stopCause) {
    ({ reason, error } = STOPPED[input.stopCause]);
  } else if (exit.oomKilled) {
    reason = "oom";
    error = { code: "OOM_KILLED", message: "the run was killed: it exceeded its memory limit" };
  } else if (entrypoint?.error) {
    reason = "error";
    error = entrypoint.error;
  } else if (!entrypoint) {
    reason = "error";
    error = {
      code: "CONTAINER_FAILED",
      message: `the run exited with ${exit.exitCode ?? "a signal"} before reporting a result`,
    };
  } else if (summary.isError || entrypoint.exitCode !== 0) {
    reason = "error";
    error = {
      code: "AGENT_FAILED",
      message: summary.resultText?.slice(0, 500) || `the agent exited with ${entrypoint.exitCode}`,
    };
  } else if (input.agentType !== "shell" && !summary.sessionId) {
    reason = "error";
    error = { code: "AGENT_NO_OUTPUT", message: "the agent produced no session (no recognisable output)" };
  }

  return {
    result: {
      exitCode: entrypoint?.exitCode ?? exit.exitCode ?? -1,
      branch: entrypoint?.branch ?? input.branchName,
      pushed: entrypoint?.pushed ?? false,
      commits: entrypoint?.commits ?? 0,
      headSha: entrypoint?.headSha ?? null,
      sessionId: summary.sessionId,
      model: summary.model,
      costUsd: summary.costUsd,
      inputTokens: summary.inputTokens,
      outputTokens: summary.outputTokens,
      error,
      review: summary.review,
    },
    exited: { exitCode: exit.exitCode, reason, oomKilled: exit.oomKilled, error },
  };
}
