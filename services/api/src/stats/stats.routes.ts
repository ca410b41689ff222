import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorResponse, SpendQuery, SpendResponse, StatsResponse } from "@optio/contracts";
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

  app.get(
    "/stats/spend",
    {
      schema: {
        tags: ["tasks"],
        summary: "What runs spent per UTC day, repository and agent, and the daily budget",
        querystring: SpendQuery,
        response: { 200: SpendResponse, 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request) => stats.spend(request.query.days),
  );
};
