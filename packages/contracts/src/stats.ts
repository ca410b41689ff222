import { z } from "zod";
import { TaskState } from "./tasks";

const Counts = z.partialRecord(TaskState, z.number().int());

/** GET /api/stats: counted by the server, so dashboards never add up pages. */
export const StatsResponse = z.object({
  total: z.number().int(),
  byState: Counts,
  byRepo: z.array(z.object({ repoUrl: z.string(), total: z.number().int(), byState: Counts })),
});
export type StatsResponse = z.infer<typeof StatsResponse>;
