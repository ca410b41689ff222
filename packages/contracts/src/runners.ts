import { z } from "zod";
import { RunnerInfo } from "./runs";

/** A live runner as listed by GET /api/runners. */
export const RunnerView = RunnerInfo.extend({
  lastHeartbeatAt: z.iso.datetime({ offset: true }),
  stopping: z.boolean(),
});
export type RunnerView = z.infer<typeof RunnerView>;

export const RunnerListResponse = z.object({ runners: z.array(RunnerView), total: z.number().int() });
