import { runBranchName, type AgentType, type RunSpec } from "@optio/contracts";
import type { Repo as RepoRow, Run as RunRow, Task as TaskRow } from "../generated/prisma/client";

export type RunDefaults = { image: string; timeoutSeconds: number };

/** What of its repo a run spec carries: the repo's image and timeout, when it is connected. */
export type RepoRunSettings = Pick<RepoRow, "id" | "image" | "runTimeoutSeconds">;

/** The run spec a runner receives: the task, this attempt, and the repo's settings. Pure. */
export function buildRunSpec(
  task: TaskRow,
  run: RunRow,
  repo: RepoRunSettings | null,
  defaults: RunDefaults,
): RunSpec {
  return {
    runId: run.id,
    taskId: task.id,
    attempt: run.attempt,
    title: task.title.slice(0, 500),
    repoUrl: task.repoUrl,
    repoBranch: task.repoBranch,
    // A restarted run keeps working on the branch (and PR) an earlier attempt pushed.
    branchName: task.branchName ?? runBranchName(task.id, task.title),
    agentType: task.agentType as AgentType,
    prompt: run.prompt ?? task.prompt,
    model: task.model,
    // The task's caps (its own, or its repo's when it was created): the runner's meter stops past them.
    maxTurns: task.maxTurns,
    maxCostUsd: task.maxCostUsd,
    resumeSessionId: run.resumeSessionId,
    taskPrompt: run.prompt ? task.prompt : null,
    image: repo?.image ?? defaults.image,
    limits: null,
    timeoutSeconds: repo?.runTimeoutSeconds ?? defaults.timeoutSeconds,
    env: {
      OPTIO_TASK_TITLE: task.title.slice(0, 500),
      // A review looks at the PR's branch and changes nothing.
      ...(task.taskType === "review" && { OPTIO_READ_ONLY: "1" }),
    },
    secretEnv: {},
    gitCredential: { source: "none" },
  };
}
