import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorResponse, StatsResponse } from "@optio/contracts";
import type { StatsService } from "./stats.service";

export const statsRoutes: FastifyPluginAsyncZod<{ stats: StatsService }> = async (app, { stats }) => {
  app.get(
    "/stats",
    {
      schema: {
        tags: ["tasks"],
        summary: "Task counts by state and by repository, computed by the server",
        response: { 200: StatsResponse, 401: ErrorResponse },
      },
    },
    async () => stats.taskCounts(),
  );
};
