// /api/tasks: the task resource, its actions, bulk actions and reorder. Subtasks, dependencies and
// comments are in task-relations.routes.ts, messages for the agent in task-messages.routes.ts. Handlers: validated input in, one service call, view out.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  BulkResponse,
  CreateTaskBody,
  CreateTaskHeaders,
  DeleteTaskQuery,
  DeleteTaskResponse,
  EmptyBody,
  ForceRestartBody,
  ListTasksQuery,
  ReorderBody,
  ReorderResponse,
  ResumeTaskBody,
  TaskDetailResponse,
  TaskEventListResponse,
  TaskIdParams,
  TaskListResponse,
  TaskResponse,
  UpdateTaskBody,
} from "@optio/contracts";
import type { TaskAction } from "@optio/core";
import { currentUser } from "../auth/auth.plugin";
import { userActor } from "./request-actor";
import { taskMessagesRoutes } from "./task-messages.routes";
import { taskRelationsRoutes } from "./task-relations.routes";
import type { TaskServices } from "./task-services";
import { toEventRecord, toRunSummary, toTaskView } from "./task.view";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 403, 404, 409, 422);
const tags = ["tasks"];

const ACTIONS: {
  path: string;
  action: TaskAction;
  summary: string;
  body: typeof EmptyBody | typeof ResumeTaskBody;
}[] = [
  { path: "cancel", action: "cancel", summary: "Cancel a task (any non-terminal state)", body: EmptyBody },
  {
    path: "retry",
    action: "retry",
    summary: "Retry a failed or cancelled task as a new run",
    body: EmptyBody,
  },
  {
    path: "resume",
    action: "resume",
    summary: "Resume a needs_attention or failed task's agent session with new context",
    body: ResumeTaskBody,
  },
  {
    path: "force-restart",
    action: "force-restart",
    summary: "New agent session on the existing branch/PR",
    body: ForceRestartBody,
  },
  {
    path: "force-redo",
    action: "force-redo",
    summary: "Discard branch, PR link and results; start from scratch",
    body: EmptyBody,
  },
];

export const tasksRoutes: FastifyPluginAsyncZod<{ services: TaskServices }> = async (app, { services }) => {
  const { tasks, queries, budget } = services;
  /** Queued tasks the daily budget holds say so. */
  const view = async (row: Parameters<typeof toTaskView>[0]) => toTaskView(row, await budget.queueReason());

  app.get(
    "/tasks",
    {
      schema: {
        tags,
        summary: "List tasks",
        querystring: ListTasksQuery,
        response: { 200: TaskListResponse, ...errors },
      },
    },
    async (request) => {
      const [{ tasks: rows, total }, held] = await Promise.all([
        queries.list(request.query),
        budget.queueReason(),
      ]);
      const page = rows.map((row) => toTaskView(row, held));
      return { tasks: page, total, limit: request.query.limit, offset: request.query.offset };
    },
  );

  app.post(
    "/tasks",
    {
      schema: {
        tags,
        summary: "Create a task (honours Idempotency-Key)",
        headers: CreateTaskHeaders,
        body: CreateTaskBody,
        response: { 200: TaskResponse, 201: TaskResponse, ...errors },
      },
    },
    async (request, reply) => {
      const key = request.headers["idempotency-key"];
      const result = await tasks.create(request.body, currentUser(request).id, key);
      return reply.status(result.replayed ? 200 : 201).send({ task: await view(result.task) });
    },
  );

  app.post(
    "/tasks/reorder",
    {
      schema: {
        tags,
        summary: "Run the listed tasks in the listed order",
        body: ReorderBody,
        response: { 200: ReorderResponse, ...errors },
      },
    },
    async (request) => {
      const reordered = await tasks.reorder(request.body.taskIds);
      return { ok: true as const, reordered: reordered.length, tasks: reordered };
    },
  );

  for (const kind of ["retry-failed", "cancel-active"] as const) {
    app.post(
      `/tasks/bulk/${kind}`,
      {
        schema: {
          tags,
          summary:
            kind === "retry-failed"
              ? "Retry every failed task"
              : "Cancel every queued, waiting or running task",
          body: EmptyBody,
          response: { 200: BulkResponse, ...errors },
        },
      },
      async (request) => {
        const result = await tasks.bulk(kind, userActor(request));
        return {
          ...result,
          ...(kind === "retry-failed" ? { retried: result.affected } : { cancelled: result.affected }),
        };
      },
    );
  }

  app.get(
    "/tasks/:id",
    {
      schema: {
        tags,
        summary: "A task with its runs, pending reason and subtask progress",
        params: TaskIdParams,
        response: { 200: TaskDetailResponse, ...errors },
      },
    },
    async (request) => {
      const detail = await queries.detail(request.params.id);
      return {
        task: await view(detail.task),
        runs: detail.runs.map(toRunSummary),
        pendingReason: detail.pendingReason,
        subtaskStatus: detail.subtaskStatus,
        pipelineProgress: detail.pipelineProgress,
      };
    },
  );

  app.patch(
    "/tasks/:id",
    {
      schema: {
        tags,
        summary: "Edit a task that has not started",
        params: TaskIdParams,
        body: UpdateTaskBody,
        response: { 200: TaskResponse, ...errors },
      },
    },
    async (request) => ({
      task: await view(await tasks.update(request.params.id, request.body, userActor(request))),
    }),
  );

  app.delete(
    "/tasks/:id",
    {
      schema: {
        tags,
        summary: "Delete a task with its runs, logs, events, comments and edges",
        params: TaskIdParams,
        querystring: DeleteTaskQuery,
        response: { 200: DeleteTaskResponse, ...errors },
      },
    },
    async (request) => {
      const result = await tasks.delete(request.params.id, request.query.force, userActor(request));
      return { ok: true as const, ...result };
    },
  );

  app.get(
    "/tasks/:id/events",
    {
      schema: {
        tags,
        summary: "The task's transition history",
        params: TaskIdParams,
        response: { 200: TaskEventListResponse, ...errors },
      },
    },
    async (request) => ({ events: (await queries.events(request.params.id)).map(toEventRecord) }),
  );

  for (const { path, action, summary, body } of ACTIONS) {
    app.post(
      `/tasks/:id/${path}`,
      { schema: { tags, summary, params: TaskIdParams, body, response: { 200: TaskResponse, ...errors } } },
      async (request) => {
        const prompt = (request.body as { prompt?: string } | undefined)?.prompt;
        const task = await tasks.act(request.params.id, action, userActor(request), { prompt });
        return { task: await view(await queries.get(task.id)) };
      },
    );
  }

  await app.register(taskRelationsRoutes, { services });
  await app.register(taskMessagesRoutes, { services });
};
