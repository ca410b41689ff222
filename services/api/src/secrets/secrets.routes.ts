import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  OkResponse,
  SecretListQuery,
  SecretListResponse,
  SecretNameParams,
  SecretResponse,
  SecretScopeQuery,
  SetSecretBody,
} from "@optio/contracts";
import { currentUser, requireRole } from "../auth/auth.plugin";
import type { SecretStore } from "./secret.store";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 403, 404);

/** Secrets: admins only. Values go in and are never answered. */
export const secretsRoutes: FastifyPluginAsyncZod<{ secrets: SecretStore }> = async (app, { secrets }) => {
  const onRequest = requireRole("admin");

  app.post(
    "/secrets",
    {
      onRequest,
      schema: {
        tags: ["secrets"],
        summary: "Store a secret (replaces the value of the same name and scope)",
        body: SetSecretBody,
        response: { 201: SecretResponse, ...errors },
      },
    },
    async (request, reply) => {
      const secret = await secrets.set(request.body, currentUser(request).id);
      return reply.status(201).send({ secret, name: secret.name, scope: secret.scope });
    },
  );

  app.get(
    "/secrets",
    {
      onRequest,
      schema: {
        tags: ["secrets"],
        summary: "List secrets: names, scopes and timestamps, never values",
        querystring: SecretListQuery,
        response: { 200: SecretListResponse, ...errors },
      },
    },
    async (request) => secrets.list(request.query),
  );

  app.delete(
    "/secrets/:name",
    {
      onRequest,
      schema: {
        tags: ["secrets"],
        summary: "Delete a secret (`scope`: global by default, or a repo id)",
        params: SecretNameParams,
        querystring: SecretScopeQuery,
        response: { 200: OkResponse, ...errors },
      },
    },
    async (request) => {
      await secrets.delete(request.params.name, request.query.scope, currentUser(request).id);
      return { ok: true as const };
    },
  );
};
