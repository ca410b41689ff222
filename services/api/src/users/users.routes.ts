import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  CreateUserBody,
  IdParams,
  Pagination,
  UpdateUserBody,
  UserListResponse,
  UserResponse,
} from "@optio/contracts";
import { requireRole } from "../auth/auth.plugin";
import type { UserService } from "./user.service";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 403, 404, 409);

/** User administration: admins only. */
export const usersRoutes: FastifyPluginAsyncZod<{ users: UserService }> = async (app, { users }) => {
  app.addHook("onRequest", requireRole("admin"));

  app.get(
    "/users",
    {
      schema: {
        tags: ["users"],
        summary: "List users",
        querystring: Pagination,
        response: { 200: UserListResponse, ...errors },
      },
    },
    async (request) => users.list(request.query),
  );

  app.post(
    "/users",
    {
      schema: {
        tags: ["users"],
        summary: "Add a user",
        body: CreateUserBody,
        response: { 201: UserResponse, ...errors },
      },
    },
    async (request, reply) => reply.status(201).send({ user: await users.create(request.body) }),
  );

  app.patch(
    "/users/:id",
    {
      schema: {
        tags: ["users"],
        summary: "Change a user's role, name or active flag",
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: UserResponse, ...errors },
      },
    },
    async (request) => ({ user: await users.update(request.params.id, request.body) }),
  );
};
