// Pure: the entrypoint's result line, and the reports (result + exited) of a finished run. What the
// run's end was is decided in @optio/core (classifyRunEnd); this module only reads and assembles.
import { z } from "zod";
import { classifyRunEnd, stoppedRunEnd, type StopCause } from "@optio/core";
import { getAdapter, type AgentSummary } from "@optio/agents";
import {
  RunErrorCode,
  type AgentType,
  type ExitReason,
  type ReviewVerdict,
  type RunError,
} from "@optio/contracts";
import type { RunExit } from "./driver";
import { usd, type BudgetCaps, type MeterTotals } from "./run-meter";

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

export interface OutcomeInput {
  agentType: AgentType;
  branchName: string;
  exit: RunExit;
  stopCause: StopCause | null;
  /** What the stop's error says instead of its default (a budget stop: the cap and the spend). */
  stopDetail?: string | null;
  entrypoint: EntrypointResult | null;
  summary: AgentSummary;
  /** The names of the secrets the run was given (never their values). */
  secretNames?: readonly string[];
  /** The run's caps and what the meter counted: the result's cost and tokens. */
  caps: BudgetCaps;
  metered: MeterTotals;
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

/** The end of a run the runner stopped itself, in report shape. */
export function stoppedOutcome(
  cause: StopCause,
  detail?: string | null,
): { reason: ExitReason; error: RunError } {
  const end = stoppedRunEnd(cause, detail);
  return { reason: end.reason, error: end.error! };
}

/** What a refused credential's error tells the user to check: the agent's key secrets the run had. */
function credentialsHint(agentType: AgentType, secretNames: readonly string[]): string {
  const keys = getAdapter(agentType).keyVariables;
  const given = keys.filter((name) => secretNames.includes(name));
  if (given.length === 0) return `that a key is stored: ${keys.join(" or ")}`;
  return `the secret${given.length > 1 ? "s" : ""} ${given.join(", ")}`;
}

/** What an agent that stopped itself at a cap it was given stopped at, in the meter's words. */
function limitMessage(input: OutcomeInput): string | null {
  const { summary, caps, metered, agentType } = input;
  if (summary.limit === "max_turns")
    return `${agentType} stopped itself at maxTurns ${caps.maxTurns ?? "?"} (after ${metered.turns} turns)`;
  if (summary.limit === "max_budget") {
    const cap = caps.maxCostUsd === null ? "its budget" : `maxCostUsd ${usd(caps.maxCostUsd)}`;
    return `${agentType} stopped itself at ${cap} (cost ${usd(metered.costUsd ?? 0)})`;
  }
  return null;
}

/** The reports of a finished run: what it was is decided in core (classifyRunEnd); this assembles. */
export function decideOutcome(input: OutcomeInput): Outcome {
  const { exit, entrypoint, summary, metered } = input;
  const { reason, error } = classifyRunEnd<RunErrorCode>({
    agentType: input.agentType,
    exit,
    stopCause: input.stopCause,
    stopDetail: input.stopDetail,
    entrypoint,
    agent: { ...summary, stoppedAtLimit: limitMessage(input) },
    credentials: credentialsHint(input.agentType, input.secretNames ?? []),
  });

  return {
    result: {
      exitCode: entrypoint?.exitCode ?? exit.exitCode ?? -1,
      branch: entrypoint?.branch ?? input.branchName,
      pushed: entrypoint?.pushed ?? false,
      commits: entrypoint?.commits ?? 0,
      headSha: entrypoint?.headSha ?? null,
      sessionId: summary.sessionId,
      model: summary.model,
      // The meter's figures: also those of a run stopped before the agent reported its totals.
      costUsd: metered.costUsd,
      inputTokens: metered.inputTokens,
      outputTokens: metered.outputTokens,
      error,
      review: summary.review,
    },
    exited: { exitCode: exit.exitCode, reason, oomKilled: exit.oomKilled, error },
  };
}
