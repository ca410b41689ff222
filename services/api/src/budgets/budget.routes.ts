// /api/settings/budget: the daily budget as it applies now; admins set or clear its cap.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { DailyBudgetResponse, SetDailyBudgetBody } from "@optio/contracts";
import { requireRole } from "../auth/auth.plugin";
import { errorResponses } from "../http/error-responses";
import type { DailyBudget } from "./daily-budget";

const errors = errorResponses(400, 401, 403);
const tags = ["settings"];

export const budgetRoutes: FastifyPluginAsyncZod<{ budget: DailyBudget }> = async (app, { budget }) => {
  app.get(
    "/settings/budget",
    {
      schema: {
        tags,
        summary: "The daily budget: its cap and source, today's spend, whether it holds new runs",
        response: { 200: DailyBudgetResponse, ...errors },
      },
    },
    async () => ({ budget: await budget.status() }),
  );

  app.put(
    "/settings/budget",
    {
      onRequest: requireRole("admin"),
      schema: {
        tags,
        summary:
          "Set the daily cap over OPTIO_DAILY_BUDGET_USD (null: no cap); raising it releases held runs",
        body: SetDailyBudgetBody,
        response: { 200: DailyBudgetResponse, ...errors },
      },
    },
    async (request) => ({ budget: await budget.setCap(request.body.dailyBudgetUsd) }),
  );

  app.delete(
    "/settings/budget",
    {
      onRequest: requireRole("admin"),
      schema: {
        tags,
        summary: "Drop the stored cap: OPTIO_DAILY_BUDGET_USD applies again",
        response: { 200: DailyBudgetResponse, ...errors },
      },
    },
    async () => ({ budget: await budget.clearCap() }),
  );
};
