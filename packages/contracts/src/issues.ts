// Issues of connected repositories on a platform (GitHub): browse them and turn one into a task.
import { z } from "zod";
import { AgentTypeInput } from "./repos";
import { TaskState } from "./tasks";

export const IssueStateFilter = z.enum(["open", "closed", "all"]);

export const IssuesQuery = z.object({
  repoId: z.uuid().optional().describe("Only this repository; default: every connected repo on a platform"),
  state: IssueStateFilter.default("open"),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000).default(0),
});
export type IssuesQuery = z.output<typeof IssuesQuery>;

export const OptioTaskRef = z.object({ taskId: z.uuid(), state: TaskState });

export const Issue = z.object({
  id: z.string().describe("<repoId>#<number>"),
  number: z.number().int(),
  externalId: z.string(),
  source: z.literal("github"),
  title: z.string(),
  body: z.string(),
  state: z.enum(["open", "closed"]),
  url: z.string(),
  labels: z.array(z.string()),
  hasOptioLabel: z.boolean(),
  author: z.string().nullable(),
  assignee: z.string().nullable(),
  repo: z.object({ id: z.uuid(), fullName: z.string(), repoUrl: z.string() }),
  createdAt: z.string(),
  updatedAt: z.string(),
  optioTask: OptioTaskRef.nullable().describe("The newest task made from this issue, if any"),
});
export type Issue = z.infer<typeof Issue>;

/** A repository whose issues could not be read; the others are still listed. */
export const IssueRepoFailure = z.object({
  repoId: z.uuid(),
  fullName: z.string(),
  code: z.string(),
  error: z.string(),
});

export const IssueListResponse = z.object({
  issues: z.array(Issue),
  limit: z.number().int(),
  offset: z.number().int(),
  hasMore: z.boolean(),
  failedRepos: z.array(IssueRepoFailure),
});

export const AssignIssueBody = z.strictObject({
  repoId: z.uuid(),
  issueNumber: z.number().int().positive().max(2_147_483_647),
  agentType: AgentTypeInput.optional(),
  // The reference API's clients send these; the issue on the platform is the source of truth.
  title: z.string().max(1000).optional().describe("Ignored: read from the platform"),
  body: z.string().max(100_000).optional().describe("Ignored: read from the platform"),
});
export type AssignIssueBody = z.output<typeof AssignIssueBody>;
