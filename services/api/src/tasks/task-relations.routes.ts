// /api/tasks/:id/{subtasks,dependencies,dependents,comments,review}.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AddDependenciesBody,
  AddDependenciesResponse,
  CommentBody,
  CommentListResponse,
  CommentResponse,
  CreateSubtaskBody,
  DependencyListResponse,
  DependencyParams,
  DependentListResponse,
  EmptyBody,
  ReviewResponse,
  SubtaskListResponse,
  SubtaskResponse,
  SubtaskStatusResponse,
  TaskIdParams,
} from "@optio/contracts";
import { z } from "zod";
import { currentUser } from "../auth/auth.plugin";
import type { TaskServices } from "./task-services";
import { userActor } from "./request-actor";
import { toCommentView, toTaskView } from "./task.view";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 403, 404, 409);

export const taskRelationsRoutes: FastifyPluginAsyncZod<{ services: TaskServices }> = async (
  app,
  { services },
) => {
  const { subtasks, dependencies, comments, queries } = services;

  app.get(
    "/tasks/:id/subtasks",
    {
      schema: {
        tags: ["subtasks"],
        summary: "List subtasks",
        params: TaskIdParams,
        response: { 200: SubtaskListResponse, ...errors },
      },
    },
    async (request) => {
      const [rows, held] = await Promise.all([
        subtasks.list(request.params.id),
        services.budget.queueReason(),
      ]);
      return { subtasks: rows.map((row) => toTaskView(row, held)) };
    },
  );

  app.post(
    "/tasks/:id/subtasks",
    {
      schema: {
        tags: ["subtasks"],
        summary: "Create a subtask (child, step or review)",
        params: TaskIdParams,
        body: CreateSubtaskBody,
        response: { 201: SubtaskResponse, ...errors },
      },
    },
    async (request, reply) => {
      const created = await subtasks.create(request.params.id, request.body, userActor(request));
      const held = await services.budget.queueReason();
      return reply.status(201).send({ subtask: toTaskView(await queries.get(created.id), held) });
    },
  );

  app.get(
    "/tasks/:id/subtasks/status",
    {
      schema: {
        tags: ["subtasks"],
        summary: "Subtask completion status",
        params: TaskIdParams,
        response: { 200: SubtaskStatusResponse, ...errors },
      },
    },
    async (request) => subtasks.status(request.params.id),
  );

  app.post(
    "/tasks/:id/review",
    {
      schema: {
        tags: ["subtasks"],
        summary: "Launch a review subtask for the task's PR",
        params: TaskIdParams,
        body: EmptyBody,
        response: { 201: ReviewResponse, ...errors },
      },
    },
    async (request, reply) => {
      const review = await subtasks.review(request.params.id, userActor(request));
      const subtask = toTaskView(await queries.get(review.id), await services.budget.queueReason());
      return reply.status(201).send({ subtask, reviewTaskId: review.id });
    },
  );

  app.get(
    "/tasks/:id/dependencies",
    {
      schema: {
        tags: ["dependencies"],
        summary: "Tasks this task depends on",
        params: TaskIdParams,
        response: { 200: DependencyListResponse, ...errors },
      },
    },
    async (request) => ({ dependencies: await dependencies.list(request.params.id) }),
  );

  app.get(
    "/tasks/:id/dependents",
    {
      schema: {
        tags: ["dependencies"],
        summary: "Tasks that depend on this task",
        params: TaskIdParams,
        response: { 200: DependentListResponse, ...errors },
      },
    },
    async (request) => ({ dependents: await dependencies.dependents(request.params.id) }),
  );

  app.post(
    "/tasks/:id/dependencies",
    {
      schema: {
        tags: ["dependencies"],
        summary: "Add dependencies (no self-edges, no cycles)",
        params: TaskIdParams,
        body: AddDependenciesBody,
        response: { 201: AddDependenciesResponse, ...errors },
      },
    },
    async (request, reply) => {
      const list = await dependencies.add(request.params.id, request.body.dependsOn, userActor(request));
      return reply.status(201).send({ ok: true as const, dependencies: list });
    },
  );

  app.delete(
    "/tasks/:id/dependencies/:depId",
    {
      schema: {
        tags: ["dependencies"],
        summary: "Remove a dependency (the task is re-evaluated at once)",
        params: DependencyParams,
        response: { 204: z.null().describe("Removed"), ...errors },
      },
    },
    async (request, reply) => {
      await dependencies.remove(request.params.id, request.params.depId, userActor(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    "/tasks/:id/comments",
    {
      schema: {
        tags: ["comments"],
        summary: "Comments, oldest first",
        params: TaskIdParams,
        response: { 200: CommentListResponse, ...errors },
      },
    },
    async (request) => ({ comments: (await comments.list(request.params.id)).map(toCommentView) }),
  );

  app.post(
    "/tasks/:id/comments",
    {
      schema: {
        tags: ["comments"],
        summary: "Add a comment",
        params: TaskIdParams,
        body: CommentBody,
        response: { 201: CommentResponse, ...errors },
      },
    },
    async (request, reply) => {
      const comment = await comments.add(request.params.id, request.body.content, currentUser(request).id);
      return reply.status(201).send({ comment: toCommentView(comment) });
    },
  );
};
