import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { User, UserRole } from "@optio/contracts";
import { AppError, forbidden } from "../errors";
import type { AuthService } from "./auth.service";

export const SESSION_COOKIE = "optio_session";

declare module "fastify" {
  interface FastifyRequest {
    user: User | null;
  }
  interface FastifyContextConfig {
    /** Reachable without a credential (health, setup, login, docs). */
    public?: boolean;
  }
}

/** The credential of a request: cookie, then `Authorization: Bearer`, then `?token=`. */
function credentialOf(request: FastifyRequest): string | undefined {
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (cookie) return cookie;
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError(401, "AUTH_INVALID", "The Authorization header must be `Bearer <token>`");
    return match[1];
  }
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === "string" && query.token ? query.token : undefined;
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  expiresAt: Date,
): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: request.protocol === "https",
    expires: expiresAt,
  });
}

/**
 * Authenticates every request before its body is parsed, so an anonymous caller gets 401, never a
 * validation error. Routes opt out with `config: { public: true }`.
 */
export function registerAuthentication(app: FastifyInstance, auth: AuthService): void {
  app.decorateRequest("user", null);
  app.addHook("onRequest", async (request, reply) => {
    if (request.routeOptions.config?.public || request.is404) return;
    const credential = credentialOf(request);
    if (!credential) throw new AppError(401, "AUTH_REQUIRED", "Authentication required");
    const principal = await auth.authenticate(credential);
    request.user = principal.user;
    if (principal.session?.refreshed && request.cookies?.[SESSION_COOKIE]) {
      setSessionCookie(request, reply, principal.session.token, principal.session.expiresAt);
    }
  });
}

/** onRequest hook for routes limited to a role (runs before validation: 403 beats 400). */
export function requireRole(role: UserRole) {
  return async (request: FastifyRequest) => {
    if (request.user?.role !== role) throw forbidden(`This action requires the ${role} role`);
  };
}

/** The authenticated user of a non-public route. */
export function currentUser(request: FastifyRequest): User {
  if (!request.user) throw new AppError(401, "AUTH_REQUIRED", "Authentication required");
  return request.user;
}
