// Response shapes of routes whose schemas are not in packages/contracts yet (GitHub issues).
// Loose on purpose: they accept extra fields, so the server can grow them; replace these with the
// contracts' own schemas once they exist there.
import { z } from "zod";
import { Task } from "@optio/contracts";

export const IssueSummary = z.looseObject({
  number: z.number().int(),
  title: z.string(),
  state: z.string().optional(),
  url: z.string().optional(),
  taskId: z.string().nullish(),
});
export const IssueListResponse = z.looseObject({ issues: z.array(IssueSummary) });
export const IssueAssignResponse = z.looseObject({ task: Task });
