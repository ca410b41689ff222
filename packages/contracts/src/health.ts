import { z } from "zod";

export const CheckStatus = z.enum(["ok", "down"]);
export const HealthResponse = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  checks: z.object({ database: CheckStatus, nats: CheckStatus }),
});
