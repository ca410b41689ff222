import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  CredentialValidation,
  ErrorResponse,
  SessionResponse,
  SetupCompleteBody,
  SetupStatusResponse,
  ValidateAnthropicKeyBody,
  ValidateGithubTokenBody,
} from "@optio/contracts";
import type { CredentialValidator } from "../setup/credential-validator";
import type { SetupStatusService } from "../setup/setup-status.service";
import type { UserService } from "../users/user.service";
import type { AuthService } from "./auth.service";
import { requireRole, setSessionCookie } from "./auth.plugin";

export const setupRoutes: FastifyPluginAsyncZod<{
  users: UserService;
  auth: AuthService;
  setup: SetupStatusService;
  validator: CredentialValidator;
  authRateLimit: number;
}> = async (app, { users, auth, setup, validator, authRateLimit }) => {
  app.get(
    "/setup/status",
    {
      config: { public: true },
      schema: {
        tags: ["setup"],
        summary: "What is set up: the first admin, a git token, agent credentials (names only)",
        response: { 200: SetupStatusResponse },
      },
    },
    async () => setup.status(),
  );

  app.post(
    "/setup/complete",
    {
      config: { public: true, rateLimit: { max: authRateLimit, timeWindow: "1 minute" } },
      schema: {
        tags: ["setup"],
        summary: "Create the first admin (only before setup is done)",
        body: SetupCompleteBody,
        response: { 201: SessionResponse, 400: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await users.completeSetup(request.body);
      const session = await auth.createSession(user.id);
      setSessionCookie(request, reply, session.token, session.expiresAt);
      return reply.status(201).send({ user, token: session.token });
    },
  );

  // Validators probe the upstream with the credential; admins only (they send it to a third party).
  const validation = {
    onRequest: requireRole("admin"),
    config: { rateLimit: { max: authRateLimit, timeWindow: "1 minute" } },
  };
  const responses = {
    200: CredentialValidation,
    400: ErrorResponse,
    401: ErrorResponse,
    403: ErrorResponse,
    429: ErrorResponse,
  };
  app.post(
    "/setup/validate/github-token",
    {
      ...validation,
      schema: {
        tags: ["setup"],
        summary: "Whether GitHub accepts a token (GET /user)",
        body: ValidateGithubTokenBody,
        response: responses,
      },
    },
    async (request) => validator.githubToken(request.body.token),
  );
  app.post(
    "/setup/validate/anthropic-key",
    {
      ...validation,
      schema: {
        tags: ["setup"],
        summary: "Whether Anthropic accepts an API key or Claude OAuth token (GET /v1/models)",
        body: ValidateAnthropicKeyBody,
        response: responses,
      },
    },
    async (request) => validator.anthropicKey(request.body.key),
  );
};
