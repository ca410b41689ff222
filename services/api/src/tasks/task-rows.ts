// Column lists for the hot raw-SQL paths (intake, list): rows come back already named like the
// Prisma models (camelCase aliases), so the views (task.view.ts) serve both paths. The `satisfies`
// checks keep the lists complete when a column is added to the schema.
import { Prisma } from "../generated/prisma/client";
import type { Run, Task as TaskRow } from "../generated/prisma/client";

const TASK_COLUMNS = {
  id: "id",
  title: "title",
  prompt: "prompt",
  repoUrl: "repo_url",
  repoId: "repo_id",
  repoBranch: "repo_branch",
  agentType: "agent_type",
  model: "model",
  priority: "priority",
  position: "position",
  maxAttempts: "max_attempts",
  metadata: "metadata",
  requiredLabels: "required_labels",
  maxCostUsd: "max_cost_usd",
  maxTurns: "max_turns",
  state: "state",
  stateVersion: "state_version",
  taskType: "task_type",
  parentId: "parent_id",
  subtaskOrder: "subtask_order",
  blocksParent: "blocks_parent",
  createdBy: "created_by",
  branchName: "branch_name",
  prUrl: "pr_url",
  prNumber: "pr_number",
  errorMessage: "error_message",
  resultSummary: "result_summary",
  sessionId: "session_id",
  attempts: "attempts",
  costUsd: "cost_usd",
  inputTokens: "input_tokens",
  outputTokens: "output_tokens",
  createdAt: "created_at",
  updatedAt: "updated_at",
  startedAt: "started_at",
  completedAt: "completed_at",
} as const satisfies Record<keyof TaskRow, string>;

const RUN_COLUMNS = {
  id: "id",
  taskId: "task_id",
  attempt: "attempt",
  kind: "kind",
  state: "state",
  prompt: "prompt",
  resumeSessionId: "resume_session_id",
  runnerId: "runner_id",
  leaseExpiresAt: "lease_expires_at",
  containerId: "container_id",
  startedAt: "started_at",
  finishedAt: "finished_at",
  exitCode: "exit_code",
  errorCode: "error_code",
  error: "error",
  branch: "branch",
  sessionId: "session_id",
  model: "model",
  costUsd: "cost_usd",
  inputTokens: "input_tokens",
  outputTokens: "output_tokens",
  claimId: "claim_id",
  lastReportSeq: "last_report_seq",
  createdAt: "created_at",
  updatedAt: "updated_at",
} as const satisfies Record<keyof Run, string>;

const RUN_PREFIX = "run.";

/** `t.repo_url AS "repoUrl", ..., r.id AS "run.id", ...` for a task alias and a run alias. */
export function taskAndRunSelect(task: string, run: string): Prisma.Sql {
  const columns = [
    ...Object.entries(TASK_COLUMNS).map(([field, column]) => `${task}.${column} AS "${field}"`),
    ...Object.entries(RUN_COLUMNS).map(([field, column]) => `${run}.${column} AS "${RUN_PREFIX}${field}"`),
  ];
  return Prisma.raw(columns.join(", "));
}

/** A row selected with taskAndRunSelect → the task with its newest run (if any). */
export function toTaskWithRun(row: Record<string, unknown>): TaskRow & { runs: Run[] } {
  const task = Object.fromEntries(Object.keys(TASK_COLUMNS).map((field) => [field, row[field]])) as TaskRow;
  const runId = row[`${RUN_PREFIX}id`];
  const runs = runId
    ? [
        Object.fromEntries(
          Object.keys(RUN_COLUMNS).map((field) => [field, row[`${RUN_PREFIX}${field}`]]),
        ) as Run,
      ]
    : [];
  return { ...task, runs };
}
