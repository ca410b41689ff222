// The /api/tasks contract: bodies, queries and responses of every task route, and the
// payloads of the lifecycle events published as `optio.task.<taskId>.<event>`.
// Bodies are strict (unknown fields → 400); field names that clients of other Optio servers send
// (claude-code, maxRetries, dependsOnTaskId, claudeModel) are accepted as aliases and normalised
// away by the transforms below.
import { z } from "zod";
import { TaskMessageSentEvent } from "./messages";
import { RUN_KINDS, TASK_STATES, TASK_TYPES } from "@optio/core";
import { Money, Timestamp } from "./common";
import { MaxCostUsd, MaxTurns } from "./budgets";
import { AgentType, AgentTypeInput, BranchName, RepoUrlInput, RequiredLabels } from "./repos";

// ---------------------------------------------------------------- vocabulary

// The vocabularies are defined once, by the domain rules in @optio/core.
export const TaskState = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskState>;

export const TaskType = z.enum(TASK_TYPES);
export type TaskType = z.infer<typeof TaskType>;
export const SubtaskType = z.enum(["child", "step", "review"]);
export type SubtaskType = z.infer<typeof SubtaskType>;

export const RunKind = z.enum(RUN_KINDS);
export type RunKind = z.infer<typeof RunKind>;
export const RunState = z.enum([
  "queued",
  "provisioning",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "superseded",
]);
export type RunState = z.infer<typeof RunState>;

export const TaskTitle = z.string().trim().min(1, "must not be empty").max(500);
export const TaskPrompt = z
  .string()
  .max(100_000)
  .refine((value) => value.trim().length > 0, "must not be empty");
export const Priority = z.number().int().min(0).max(1000).describe("0–1000, lower runs sooner");
export const MaxAttempts = z.number().int().min(1).max(20);
export const ModelName = z.string().trim().min(1).max(200);

export const METADATA_MAX_BYTES = 16_384;
export const TaskMetadata = z
  .record(z.string().max(200), z.unknown())
  .refine((value) => new TextEncoder().encode(JSON.stringify(value)).length <= METADATA_MAX_BYTES, {
    message: `must serialise to at most ${METADATA_MAX_BYTES} bytes of JSON`,
  });

const TaskIds = z
  .array(z.uuid())
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, "must not repeat an id");

/** The first non-empty line of the prompt, cut to 200 characters: the title when none is given. */
export function titleFromPrompt(prompt: string): string {
  const line = prompt
    .split(/\r?\n/)
    .map((text) => text.trim())
    .find((text) => text.length > 0);
  const title = (line ?? "").replace(/^#+\s*/, "") || "Untitled task";
  return title.length > 200 ? `${title.slice(0, 199)}…` : title;
}

// ---------------------------------------------------------------- create

/** POST /api/tasks. Aliases: agentType claude-code, maxRetries, dependsOnTaskId, claudeModel. */
export const CreateTaskBody = z
  .strictObject({
    title: TaskTitle.optional(),
    prompt: TaskPrompt,
    repoUrl: RepoUrlInput,
    repoBranch: BranchName.optional(),
    agentType: AgentTypeInput.optional(),
    model: ModelName.optional(),
    claudeModel: ModelName.optional().describe("Alias of model (reference clients)"),
    priority: Priority.optional(),
    maxAttempts: MaxAttempts.optional(),
    maxRetries: z.number().int().min(0).max(19).optional().describe("Alias: maxAttempts = maxRetries + 1"),
    maxCostUsd: MaxCostUsd.optional().describe("Default: the repo's maxCostUsd (none when unset)"),
    maxTurns: MaxTurns.optional().describe("Default: the repo's maxTurns (none when unset)"),
    metadata: TaskMetadata.optional(),
    requiredLabels: RequiredLabels.optional().describe(
      "Runner labels needed to claim it (besides the repo's)",
    ),
    dependsOn: TaskIds.optional(),
    dependsOnTaskId: z.uuid().optional().describe("Alias: one id of dependsOn"),
    type: z.literal("repo-task").optional().describe("Accepted for reference clients; ignored"),
  })
  .superRefine((body, ctx) => {
    if (body.model && body.claudeModel && body.model !== body.claudeModel) {
      ctx.addIssue({ code: "custom", path: ["claudeModel"], message: "conflicts with model" });
    }
    if (
      body.maxAttempts !== undefined &&
      body.maxRetries !== undefined &&
      body.maxAttempts !== body.maxRetries + 1
    ) {
      ctx.addIssue({ code: "custom", path: ["maxRetries"], message: "conflicts with maxAttempts" });
    }
  })
  .transform((body) => {
    const dependsOn = [...(body.dependsOn ?? [])];
    if (body.dependsOnTaskId && !dependsOn.includes(body.dependsOnTaskId))
      dependsOn.push(body.dependsOnTaskId);
    return {
      title: body.title ?? titleFromPrompt(body.prompt),
      prompt: body.prompt,
      repoUrl: body.repoUrl,
      repoBranch: body.repoBranch,
      agentType: body.agentType,
      model: body.model ?? body.claudeModel,
      priority: body.priority,
      maxAttempts: body.maxAttempts ?? (body.maxRetries !== undefined ? body.maxRetries + 1 : undefined),
      maxCostUsd: body.maxCostUsd,
      maxTurns: body.maxTurns,
      metadata: body.metadata,
      requiredLabels: body.requiredLabels ?? [],
      dependsOn,
    };
  });
export type CreateTaskBody = z.input<typeof CreateTaskBody>;
export type CreateTaskInput = z.output<typeof CreateTaskBody>;

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
export const IdempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

/** Loose: the other headers (authorization, ...) pass through untouched. */
export const CreateTaskHeaders = z.looseObject({ [IDEMPOTENCY_KEY_HEADER]: IdempotencyKey.optional() });

// ---------------------------------------------------------------- update

/** PATCH /api/tasks/:id: only while pending, waiting_on_deps or queued. */
export const UpdateTaskBody = z
  .strictObject({
    title: TaskTitle.optional(),
    prompt: TaskPrompt.optional(),
    priority: Priority.optional(),
    repoBranch: BranchName.optional(),
    agentType: AgentTypeInput.optional(),
    model: ModelName.nullable().optional(),
    maxAttempts: MaxAttempts.optional(),
    maxRetries: z.number().int().min(0).max(19).optional().describe("Alias: maxAttempts = maxRetries + 1"),
    maxCostUsd: MaxCostUsd.nullable().optional().describe("null: no cost cap"),
    maxTurns: MaxTurns.nullable().optional().describe("null: no turn cap"),
    metadata: TaskMetadata.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, {
    message: "at least one field is required",
    // Not on top of another issue (an unknown field is reported alone).
    when: (payload) => payload.issues.length === 0,
  })
  .superRefine((body, ctx) => {
    if (
      body.maxAttempts !== undefined &&
      body.maxRetries !== undefined &&
      body.maxAttempts !== body.maxRetries + 1
    ) {
      ctx.addIssue({ code: "custom", path: ["maxRetries"], message: "conflicts with maxAttempts" });
    }
  })
  .transform(({ maxRetries, ...rest }) => ({
    ...rest,
    ...(maxRetries !== undefined && rest.maxAttempts === undefined ? { maxAttempts: maxRetries + 1 } : {}),
  }));
export type UpdateTaskBody = z.input<typeof UpdateTaskBody>;
export type UpdateTaskInput = z.output<typeof UpdateTaskBody>;

// ---------------------------------------------------------------- list

const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) =>
      (Array.isArray(value) ? value : [value])
        .flatMap((entry) => (typeof entry === "string" ? entry.split(",") : [entry]))
        .map((entry) => (typeof entry === "string" ? entry.trim() : entry))
        .filter((entry) => entry !== ""),
    z.array(item).min(1).max(20),
  );

const DateBound = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const TaskSort = z.enum(["created", "-created", "queue"]);
export type TaskSort = z.infer<typeof TaskSort>;

/** GET /api/tasks. Unknown parameters are ignored (`?token=` is a credential). */
export const ListTasksQuery = z.object({
  state: oneOrMany(TaskState).optional().describe("One state, a comma-separated list, or repeated"),
  repoUrl: RepoUrlInput.optional(),
  repoId: z.uuid().optional(),
  type: TaskType.optional().describe("Task type: coding, child, step, review"),
  agentType: AgentTypeInput.optional(),
  q: z.string().trim().min(1).max(200).optional().describe("Case-insensitive text in title or prompt"),
  parentId: z.uuid().optional(),
  createdAfter: DateBound.optional(),
  createdBefore: DateBound.optional(),
  sort: TaskSort.default("-created").describe(
    "-created: newest first; created: oldest first; queue: run order",
  ),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type ListTasksQuery = z.output<typeof ListTasksQuery>;

export const DeleteTaskQuery = z.object({
  force: z
    .enum(["true", "false", "1", "0"])
    .transform((value) => value === "true" || value === "1")
    .default(false),
});

// ---------------------------------------------------------------- actions

// Action bodies are optional: an absent body arrives as null.
export const ResumeTaskBody = z
  .strictObject({ prompt: TaskPrompt.optional().describe("New context for the agent; default: continue") })
  .nullish();
export const ForceRestartBody = z.strictObject({ prompt: TaskPrompt.optional() }).nullish();
/** cancel, retry, force-redo, review, bulk: no body; `{}` (or none) is accepted. */
export const EmptyBody = z.strictObject({}).nullish();

export const ReorderBody = z.strictObject({
  taskIds: z
    .array(z.uuid())
    .min(1)
    .max(1000)
    .refine((ids) => new Set(ids).size === ids.length, "must not repeat an id"),
});

// ---------------------------------------------------------------- subtasks, dependencies, comments

export const CreateSubtaskBody = z
  .strictObject({
    title: TaskTitle.optional(),
    prompt: TaskPrompt,
    taskType: SubtaskType.default("child"),
    blocksParent: z.boolean().optional(),
    repoBranch: BranchName.optional(),
    agentType: AgentTypeInput.optional(),
    model: ModelName.optional(),
    priority: Priority.optional(),
    maxAttempts: MaxAttempts.optional(),
    maxCostUsd: MaxCostUsd.optional().describe("Default: the parent's"),
    maxTurns: MaxTurns.optional().describe("Default: the parent's"),
    metadata: TaskMetadata.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.taskType !== "child" && body.blocksParent === false) {
      ctx.addIssue({
        code: "custom",
        path: ["blocksParent"],
        message: `a ${body.taskType} always blocks its parent`,
      });
    }
  })
  .transform((body) => ({ ...body, title: body.title ?? titleFromPrompt(body.prompt) }));
export type CreateSubtaskInput = z.output<typeof CreateSubtaskBody>;

/** POST /api/tasks/:id/dependencies. `dependsOnIds` is the reference's name. */
export const AddDependenciesBody = z
  .strictObject({
    dependsOn: TaskIds.optional(),
    dependsOnIds: TaskIds.optional(),
  })
  .transform((body, ctx) => {
    const ids = [...new Set([...(body.dependsOn ?? []), ...(body.dependsOnIds ?? [])])];
    if (ids.length === 0) {
      ctx.addIssue({ code: "custom", path: ["dependsOn"], message: "must list at least one task id" });
      return z.NEVER;
    }
    return { dependsOn: ids };
  });

export const CommentBody = z.strictObject({
  content: z
    .string()
    .max(10_000)
    .refine((value) => value.trim().length > 0, "must not be empty"),
});

export const TaskIdParams = z.object({ id: z.uuid() });
export const DependencyParams = z.object({ id: z.uuid(), depId: z.uuid() });

// ---------------------------------------------------------------- responses

export const RunSummary = z.object({
  id: z.uuid(),
  attempt: z.number().int(),
  kind: RunKind,
  state: RunState,
  runnerId: z.string().nullable(),
  branch: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  errorCode: z.string().nullable(),
  error: z.string().nullable(),
  costUsd: Money.nullable(),
  inputTokens: z.number().int().nullable(),
  outputTokens: z.number().int().nullable(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const Task = z.object({
  id: z.uuid(),
  title: z.string(),
  prompt: z.string(),
  repoUrl: z.string(),
  repoId: z.uuid().nullable(),
  repoBranch: z.string(),
  agentType: AgentType,
  model: z.string().nullable(),
  priority: z.number().int(),
  position: z.number().int(),
  maxAttempts: z.number().int(),
  maxRetries: z.number().int().describe("maxAttempts − 1 (reference clients)"),
  maxCostUsd: z.number().nullable().describe("USD each run may spend (null: no cap)"),
  maxTurns: z.number().int().nullable().describe("Turns each run may take (null: no cap)"),
  metadata: z.record(z.string(), z.unknown()),
  requiredLabels: z.array(z.string()),
  state: TaskState,
  stateVersion: z.number().int(),
  queueReason: z
    .string()
    .nullable()
    .describe("Why a queued task cannot start now though it is next (the daily budget is spent); else null"),
  taskType: TaskType,
  parentId: z.uuid().nullable(),
  subtaskOrder: z.number().int(),
  blocksParent: z.boolean(),
  createdBy: z.uuid().nullable(),
  branchName: z.string().nullable(),
  prUrl: z.string().nullable(),
  prNumber: z.number().int().nullable(),
  errorMessage: z.string().nullable(),
  resultSummary: z.string().nullable(),
  sessionId: z.string().nullable(),
  attempts: z.number().int().describe("Runs so far"),
  costUsd: Money.describe("Total over all runs"),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  latestRun: RunSummary.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  startedAt: Timestamp.nullable(),
  completedAt: Timestamp.nullable(),
});
export type Task = z.infer<typeof Task>;

export const TaskResponse = z.object({ task: Task });
export const TaskListResponse = z.object({
  tasks: z.array(Task),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const PipelineProgress = z.object({
  totalSteps: z.number().int(),
  completedSteps: z.number().int(),
  failedSteps: z.number().int(),
  runningSteps: z.number().int(),
  currentStepIndex: z.number().int().nullable(),
  currentStepTitle: z.string().nullable(),
  stopped: z.boolean(),
});

export const SubtaskStatusResponse = z.object({
  total: z.number().int(),
  byState: z.partialRecord(TaskState, z.number().int()),
  allComplete: z.boolean(),
  blocking: z.array(z.object({ id: z.uuid(), title: z.string(), state: TaskState, taskType: TaskType })),
});

export const TaskDetailResponse = z.object({
  task: Task,
  runs: z.array(RunSummary),
  pendingReason: z.string().nullable(),
  subtaskStatus: SubtaskStatusResponse.nullable(),
  pipelineProgress: PipelineProgress.nullable(),
});

export const DeleteTaskResponse = z.object({
  ok: z.literal(true),
  failedDependents: z.array(z.uuid()).describe("Dependents failed by ?force=true"),
});

export const TaskEventRecord = z.object({
  id: z.uuid(),
  taskId: z.uuid(),
  fromState: TaskState.nullable(),
  toState: TaskState,
  trigger: z.string(),
  message: z.string().nullable(),
  actor: z.string(),
  userId: z.uuid().nullable(),
  runId: z.uuid().nullable(),
  createdAt: Timestamp,
});
export const TaskEventListResponse = z.object({ events: z.array(TaskEventRecord) });

export const SubtaskResponse = z.object({ subtask: Task });
export const SubtaskListResponse = z.object({ subtasks: z.array(Task) });
export const ReviewResponse = z.object({ subtask: Task, reviewTaskId: z.uuid() });

export const ReorderResponse = z.object({
  ok: z.literal(true),
  reordered: z.number().int(),
  tasks: z.array(z.object({ id: z.uuid(), priority: z.number().int(), position: z.number().int() })),
});

export const BulkResponse = z.object({
  affected: z.number().int().describe("Tasks that moved"),
  total: z.number().int().describe("Tasks considered"),
  retried: z.number().int().optional().describe("= affected (reference clients)"),
  cancelled: z.number().int().optional().describe("= affected (reference clients)"),
});

export const DependencyRecord = z.object({
  id: z.uuid(),
  title: z.string(),
  state: TaskState,
  dependencyId: z.uuid().describe("The depended-on task's id (reference clients)"),
});
export const DependencyListResponse = z.object({ dependencies: z.array(DependencyRecord) });
export const DependentListResponse = z.object({ dependents: z.array(DependencyRecord) });
export const AddDependenciesResponse = z.object({
  ok: z.literal(true),
  dependencies: z.array(DependencyRecord),
});

export const TaskComment = z.object({
  id: z.uuid(),
  taskId: z.uuid(),
  userId: z.uuid().nullable(),
  content: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  user: z.object({ id: z.uuid(), name: z.string().nullable(), email: z.string() }).nullable(),
});
export type TaskComment = z.infer<typeof TaskComment>;
export const CommentResponse = z.object({ comment: TaskComment });
export const CommentListResponse = z.object({ comments: z.array(TaskComment) });

// ---------------------------------------------------------------- events (optio.task.<id>.<event>)

const TaskRef = z.object({ taskId: z.uuid() });

export const TaskCreatedEvent = TaskRef.extend({
  title: z.string(),
  state: TaskState,
  taskType: TaskType,
  parentId: z.uuid().nullable(),
  repoUrl: z.string(),
  repoBranch: z.string(),
  agentType: AgentType,
  priority: z.number().int(),
  createdBy: z.uuid().nullable(),
});
export const TaskStateChangedEvent = TaskRef.extend({
  fromState: TaskState.nullable(),
  toState: TaskState,
  trigger: z.string(),
  message: z.string().nullable(),
  actor: z.string(),
  userId: z.uuid().nullable(),
  runId: z.uuid().nullable(),
  stateVersion: z.number().int(),
});
export const TaskUpdatedEvent = TaskRef.extend({
  fields: z.array(z.string()).min(1),
  userId: z.uuid().nullable(),
});
export const TaskCommentAddedEvent = TaskRef.extend({ commentId: z.uuid(), userId: z.uuid().nullable() });
export const TaskReorderedEvent = TaskRef.extend({ priority: z.number().int(), position: z.number().int() });
export const TaskDeletedEvent = TaskRef.extend({
  force: z.boolean(),
  failedDependents: z.array(z.uuid()),
  userId: z.uuid().nullable(),
});
export const TaskDependencyEvent = TaskRef.extend({ dependsOnId: z.uuid() });

/** Every task event: the last token of its subject → the schema of its envelope's `data`. */
export const TaskEventPayloads = {
  created: TaskCreatedEvent,
  state_changed: TaskStateChangedEvent,
  updated: TaskUpdatedEvent,
  comment_added: TaskCommentAddedEvent,
  reordered: TaskReorderedEvent,
  deleted: TaskDeletedEvent,
  dependency_added: TaskDependencyEvent,
  dependency_removed: TaskDependencyEvent,
  message_sent: TaskMessageSentEvent,
} as const;
export type TaskEventName = keyof typeof TaskEventPayloads;
export type TaskEventPayload<E extends TaskEventName> = z.input<(typeof TaskEventPayloads)[E]>;
export const TASK_EVENT_NAMES = Object.keys(TaskEventPayloads) as TaskEventName[];
