import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  CreateRepoBody,
  IdParams,
  OkResponse,
  Pagination,
  RepoListResponse,
  RepoResponse,
  UpdateRepoBody,
} from "@optio/contracts";
import { currentUser, requireRole } from "../auth/auth.plugin";
import type { RepoService } from "./repo.service";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 403, 404, 409);
const adminOnly = requireRole("admin");

/** Connected repositories: everyone reads, admins administer. */
export const reposRoutes: FastifyPluginAsyncZod<{ repos: RepoService }> = async (app, { repos }) => {
  app.get(
    "/repos",
    {
      schema: {
        tags: ["repos"],
        summary: "List connected repositories",
        querystring: Pagination,
        response: { 200: RepoListResponse, ...errors },
      },
    },
    async (request) => ({ ...(await repos.list(request.query)), ...request.query }),
  );

  app.post(
    "/repos",
    {
      onRequest: adminOnly,
      schema: {
        tags: ["repos"],
        summary: "Connect a repository",
        body: CreateRepoBody,
        response: { 201: RepoResponse, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send({ repo: await repos.create(request.body, currentUser(request).id) }),
  );

  app.get(
    "/repos/:id",
    {
      schema: {
        tags: ["repos"],
        summary: "A repository and its settings",
        params: IdParams,
        response: { 200: RepoResponse, ...errors },
      },
    },
    async (request) => ({ repo: await repos.get(request.params.id) }),
  );

  app.patch(
    "/repos/:id",
    {
      onRequest: adminOnly,
      schema: {
        tags: ["repos"],
        summary: "Update repository settings",
        params: IdParams,
        body: UpdateRepoBody,
        response: { 200: RepoResponse, ...errors },
      },
    },
    async (request) => ({
      repo: await repos.update(request.params.id, request.body, currentUser(request).id),
    }),
  );

  app.delete(
    "/repos/:id",
    {
      onRequest: adminOnly,
      schema: {
        tags: ["repos"],
        summary: "Disconnect a repository",
        params: IdParams,
        response: { 200: OkResponse, ...errors },
      },
    },
    async (request) => {
      await repos.delete(request.params.id, currentUser(request).id);
      return { ok: true as const };
    },
  );
};
