import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorResponse, SessionResponse, SetupCompleteBody, SetupStatusResponse } from "@optio/contracts";
import type { UserService } from "../users/user.service";
import type { AuthService } from "./auth.service";
import { setSessionCookie } from "./auth.plugin";

export const setupRoutes: FastifyPluginAsyncZod<{
  users: UserService;
  auth: AuthService;
  authRateLimit: number;
}> = async (app, { users, auth, authRateLimit }) => {
  app.get(
    "/setup/status",
    {
      config: { public: true },
      schema: {
        tags: ["setup"],
        summary: "Whether the first admin exists",
        response: { 200: SetupStatusResponse },
      },
    },
    async () => {
      const isSetUp = await users.isSetUp();
      return { isSetUp, steps: [{ id: "admin", title: "Create the first admin", done: isSetUp }] };
    },
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
};
