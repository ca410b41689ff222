import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { AssignIssueBody, IssueListResponse, IssuesQuery, TaskResponse } from "@optio/contracts";
import { currentUser } from "../auth/auth.plugin";
import { toTaskView } from "../tasks/task.view";
import type { IssueService } from "./issue.service";
import type { DailyBudget } from "../budgets/daily-budget";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 403, 404, 409, 422, 429, 503);

/** Issues of connected repositories on a platform, and turning one into a task. */
export const issuesRoutes: FastifyPluginAsyncZod<{
  issues: IssueService;
  budget: Pick<DailyBudget, "queueReason">;
}> = async (app, { issues, budget }) => {
  app.get(
    "/issues",
    {
      schema: {
        tags: ["issues"],
        summary: "Issues of connected repositories (pull requests excluded), those without a task first",
        querystring: IssuesQuery,
        response: { 200: IssueListResponse, ...errors },
      },
    },
    async (request) => ({
      ...(await issues.list(request.query)),
      limit: request.query.limit,
      offset: request.query.offset,
    }),
  );

  app.post(
    "/issues/assign",
    {
      schema: {
        tags: ["issues"],
        summary: "Turn an issue into a task (201), or answer the issue's live task (200)",
        body: AssignIssueBody,
        response: { 200: TaskResponse, 201: TaskResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { task, created } = await issues.assign(request.body, currentUser(request).id);
      return reply.status(created ? 201 : 200).send({ task: toTaskView(task, await budget.queueReason()) });
    },
  );
};
