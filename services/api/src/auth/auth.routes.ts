import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  ApiTokenListResponse,
  CreateApiTokenBody,
  CreatedApiTokenResponse,
  IdParams,
  LoginBody,
  MeResponse,
  OkResponse,
  SessionResponse,
} from "@optio/contracts";
import type { AuthService } from "./auth.service";
import { SESSION_COOKIE, currentUser, setSessionCookie } from "./auth.plugin";
import { errorResponses } from "../http/error-responses";

const errors = errorResponses(400, 401, 404);

export const authRoutes: FastifyPluginAsyncZod<{ auth: AuthService; authRateLimit: number }> = async (
  app,
  { auth, authRateLimit },
) => {
  app.post(
    "/auth/login",
    {
      config: { public: true, rateLimit: { max: authRateLimit, timeWindow: "1 minute" } },
      schema: {
        tags: ["auth"],
        summary: "Log in with email and password; sets the optio_session cookie",
        body: LoginBody,
        response: { 200: SessionResponse, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { user, token, expiresAt } = await auth.login(request.body.email, request.body.password);
      setSessionCookie(request, reply, token, expiresAt);
      return { user, token };
    },
  );

  app.post(
    "/auth/logout",
    {
      config: { public: true },
      schema: { tags: ["auth"], summary: "End the current session", response: { 200: OkResponse } },
    },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) await auth.logout(token);
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return { ok: true as const };
    },
  );

  app.get(
    "/auth/me",
    {
      schema: { tags: ["auth"], summary: "The authenticated user", response: { 200: MeResponse, ...errors } },
    },
    async (request) => ({ user: currentUser(request) }),
  );

  app.post(
    "/auth/tokens",
    {
      schema: {
        tags: ["auth"],
        summary: "Create an API token (shown once)",
        body: CreateApiTokenBody,
        response: { 201: CreatedApiTokenResponse, ...errors },
      },
    },
    async (request, reply) => {
      const created = await auth.createApiToken(currentUser(request).id, request.body);
      return reply.status(201).send(created);
    },
  );

  app.get(
    "/auth/tokens",
    {
      schema: {
        tags: ["auth"],
        summary: "Your API tokens (no secrets)",
        response: { 200: ApiTokenListResponse, ...errors },
      },
    },
    async (request) => {
      const tokens = await auth.listApiTokens(currentUser(request).id);
      return { tokens, total: tokens.length };
    },
  );

  app.delete(
    "/auth/tokens/:id",
    {
      schema: {
        tags: ["auth"],
        summary: "Revoke one of your API tokens",
        params: IdParams,
        response: { 200: OkResponse, ...errors },
      },
    },
    async (request) => {
      await auth.deleteApiToken(currentUser(request).id, request.params.id);
      return { ok: true as const };
    },
  );
};
