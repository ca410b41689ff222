import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorResponse, HealthResponse } from "@optio/contracts";
import type { HealthService } from "./health.service";

export const healthRoutes: FastifyPluginAsyncZod<{ health: HealthService; version: string }> = async (
  app,
  { health, version },
) => {
  app.get(
    "/health",
    {
      config: { public: true },
      schema: {
        tags: ["health"],
        summary: "Liveness and dependency checks (no auth)",
        response: { 200: HealthResponse, 503: HealthResponse, 500: ErrorResponse },
      },
    },
    async (_request, reply) => {
      const checks = await health.check();
      const ok = checks.database === "ok" && checks.nats === "ok";
      return reply.status(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", version, checks });
    },
  );
};
