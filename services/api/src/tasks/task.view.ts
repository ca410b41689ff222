// Rows → the public shapes of packages/contracts (tasks.ts). Money stays a decimal string.
import type { RunSummary, Task, TaskComment } from "@optio/contracts";
import type { Prisma } from "../db/prisma";
import type {
  Run,
  Task as TaskRow,
  TaskComment as CommentRow,
  TaskEvent,
  User,
} from "../generated/prisma/client";

type Decimal = Prisma.Decimal;

/** Decimal → plain decimal string ("0.5", never "5e-1"). */
export const money = (value: Decimal): string => value.toFixed();

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

export function toRunSummary(run: Run): RunSummary {
  return {
    id: run.id,
    attempt: run.attempt,
    kind: run.kind,
    state: run.state,
    runnerId: run.runnerId,
    branch: run.branch,
    exitCode: run.exitCode,
    errorCode: run.errorCode,
    error: run.error,
    costUsd: run.costUsd ? money(run.costUsd) : null,
    inputTokens: run.inputTokens,
    outputTokens: run.outputTokens,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
  };
}

/**
 * `latestRun`: the row's newest run when loaded (`include: LATEST_RUN`), else null. `held`: why the
 * queue cannot start anything now (the daily budget is spent), shown on a queued task.
 */
export function toTaskView(row: TaskRow & { runs?: Run[] }, held: string | null = null): Task {
  const latest = row.runs?.[0];
  return {
    id: row.id,
    title: row.title,
    prompt: row.prompt,
    repoUrl: row.repoUrl,
    repoId: row.repoId,
    repoBranch: row.repoBranch,
    agentType: row.agentType as Task["agentType"],
    model: row.model,
    priority: row.priority,
    position: row.position,
    maxAttempts: row.maxAttempts,
    maxRetries: Math.max(0, row.maxAttempts - 1),
    maxCostUsd: row.maxCostUsd,
    maxTurns: row.maxTurns,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    requiredLabels: row.requiredLabels ?? [],
    state: row.state,
    stateVersion: row.stateVersion,
    queueReason: row.state === "queued" ? held : null,
    taskType: row.taskType,
    parentId: row.parentId,
    subtaskOrder: row.subtaskOrder,
    blocksParent: row.blocksParent,
    createdBy: row.createdBy,
    branchName: row.branchName,
    prUrl: row.prUrl,
    prNumber: row.prNumber,
    errorMessage: row.errorMessage,
    resultSummary: row.resultSummary,
    sessionId: row.sessionId,
    attempts: row.attempts,
    costUsd: money(row.costUsd),
    inputTokens: Number(row.inputTokens),
    outputTokens: Number(row.outputTokens),
    latestRun: latest ? toRunSummary(latest) : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    startedAt: iso(row.startedAt),
    completedAt: iso(row.completedAt),
  };
}

/** Prisma include that loads the newest run with a task. */
export const LATEST_RUN = {
  runs: { orderBy: { attempt: "desc" }, take: 1 },
} as const satisfies Prisma.TaskInclude;

export function toEventRecord(event: TaskEvent) {
  return {
    id: event.id,
    taskId: event.taskId,
    fromState: event.fromState,
    toState: event.toState,
    trigger: event.trigger,
    message: event.message,
    actor: event.actor,
    userId: event.userId,
    runId: event.runId,
    createdAt: event.createdAt.toISOString(),
  };
}

export function toCommentView(comment: CommentRow & { user: User | null }): TaskComment {
  return {
    id: comment.id,
    taskId: comment.taskId,
    userId: comment.userId,
    content: comment.content,
    createdAt: comment.createdAt.toISOString(),
    updatedAt: comment.updatedAt.toISOString(),
    user: comment.user ? { id: comment.user.id, name: comment.user.name, email: comment.user.email } : null,
  };
}
