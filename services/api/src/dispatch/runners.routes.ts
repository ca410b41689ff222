import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorResponse, RunnerListResponse } from "@optio/contracts";
import type { RunnerRegistry } from "./runner-registry";

export const runnersRoutes: FastifyPluginAsyncZod<{ registry: RunnerRegistry }> = async (
  app,
  { registry },
) => {
  app.get(
    "/runners",
    {
      schema: {
        tags: ["runners"],
        summary: "Live runners (those that heartbeated recently)",
        response: { 200: RunnerListResponse, 401: ErrorResponse },
      },
    },
    async () => {
      const runners = await registry.list();
      return { runners, total: runners.length };
    },
  );
};
