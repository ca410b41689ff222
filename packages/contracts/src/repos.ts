import { z } from "zod";
import { MERGE_METHODS, REVIEW_TRIGGERS } from "@optio/core";
import { Timestamp } from "./common";
import { MaxCostUsd, MaxTurns } from "./budgets";

export const AgentType = z.enum(["claude", "codex", "shell"]);
export type AgentType = z.infer<typeof AgentType>;
/** Accepts `claude-code` (what other Optio clients send) as an alias of `claude`. */
export const AgentTypeInput = z
  .enum(["claude", "claude-code", "codex", "shell"])
  .transform((value): AgentType => (value === "claude-code" ? "claude" : value));

export const BranchName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![./])$/, "must be a valid git branch name");

/** Docker image reference: [registry/]name[:tag][@digest]. */
export const ImageRef = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, "must be a Docker image reference");

/**
 * Runner labels a task needs (`gpu`, `region=eu`): only a runner announcing all of them claims it.
 * Deduplicated; no spaces or commas (runners list their labels comma-separated).
 */
export const RequiredLabels = z
  .array(
    z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[^\s,]+$/, "must not contain spaces or commas"),
  )
  .max(20)
  .transform((labels) => [...new Set(labels)]);

/** Per-repo settings; every field has a default (see the repo service). */
export const RepoSettings = z.strictObject({
  defaultBranch: BranchName,
  defaultAgentType: AgentTypeInput,
  maxConcurrentTasks: z.number().int().min(1).max(100),
  maxAttempts: z.number().int().min(1).max(20),
  runTimeoutSeconds: z.number().int().min(60).max(86_400),
  image: ImageRef,
  autoMerge: z.boolean(),
  reviewEnabled: z.boolean(),
  autoResume: z.boolean(),
  requiredLabels: RequiredLabels,
  maxAutoResumes: z.number().int().min(0).max(50),
  reviewTrigger: z.enum(REVIEW_TRIGGERS),
  mergeMethod: z.enum(MERGE_METHODS),
  cautiousMode: z.boolean(),
  requireApproval: z.boolean(),
  /** Issues labelled `optio` become tasks on their own (webhook and periodic sync). */
  autoImportIssues: z.boolean(),
  /** Caps of each run of the repo's tasks that set none (null: none). */
  maxCostUsd: MaxCostUsd.nullable(),
  maxTurns: MaxTurns.nullable(),
});
export type RepoSettings = z.output<typeof RepoSettings>;

export const RepoUrlInput = z.string().trim().min(1).max(500);

export const CreateRepoBody = RepoSettings.partial().extend({ repoUrl: RepoUrlInput });
export type CreateRepoBody = z.output<typeof CreateRepoBody>;

export const UpdateRepoBody = RepoSettings.partial().refine(
  (body) => Object.keys(body).length > 0,
  "at least one field is required",
);
export type UpdateRepoBody = z.output<typeof UpdateRepoBody>;

export const Repo = z.object({
  id: z.uuid(),
  repoUrl: z.string(),
  fullName: z.string(),
  defaultBranch: z.string(),
  defaultAgentType: AgentType,
  maxConcurrentTasks: z.number().int(),
  maxAttempts: z.number().int(),
  runTimeoutSeconds: z.number().int(),
  image: z.string(),
  autoMerge: z.boolean(),
  reviewEnabled: z.boolean(),
  autoResume: z.boolean(),
  requiredLabels: z.array(z.string()),
  maxAutoResumes: z.number().int(),
  reviewTrigger: z.enum(REVIEW_TRIGGERS),
  mergeMethod: z.enum(MERGE_METHODS),
  cautiousMode: z.boolean(),
  requireApproval: z.boolean(),
  autoImportIssues: z.boolean(),
  maxCostUsd: z.number().nullable(),
  maxTurns: z.number().int().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Repo = z.infer<typeof Repo>;

export const RepoResponse = z.object({ repo: Repo });
export const RepoListResponse = z.object({
  repos: z.array(Repo),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

// ---------------------------------------------------------------- events (optio.repo.<id>.<event>)

export const RepoCreatedEvent = z.object({ repo: Repo, actorId: z.uuid() });
export const RepoUpdatedEvent = z.object({
  repo: Repo,
  changes: z.record(z.string(), z.unknown()),
  actorId: z.uuid(),
});
export const RepoDeletedEvent = z.object({ repoId: z.uuid(), actorId: z.uuid() });

/** Every repo event: the last token of its subject → the schema of its envelope's `data`. */
export const RepoEventPayloads = {
  created: RepoCreatedEvent,
  updated: RepoUpdatedEvent,
  deleted: RepoDeletedEvent,
} as const;
