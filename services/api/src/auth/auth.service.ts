import type { ApiToken as ApiTokenView, User } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { AppError, notFound } from "../errors";
import type { ApiToken as ApiTokenRow } from "../generated/prisma/client";
import type { Logger } from "pino";
import type { AuthRevocations } from "./auth-revocations";
import type { CachedIdentity, IdentityCache } from "./identity-cache";
import { toUserView } from "../users/user.view";
import {
  API_TOKEN_PREFIX,
  DUMMY_PASSWORD_HASH,
  newApiToken,
  newSessionToken,
  sha256,
  verifyPassword,
} from "./crypto";

export type Principal = {
  user: User;
  /** Set when the credential was a session: lets the HTTP layer slide the cookie's expiry. */
  session?: { token: string; expiresAt: Date; refreshed: boolean };
};

const invalid = () => new AppError(401, "AUTH_INVALID", "The credential is invalid or has expired");

/** lastUsedAt (and a session's sliding expiry) is written at most this often per credential. */
const TOUCH_INTERVAL_MS = 60_000;

function toApiTokenView(row: ApiTokenRow): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    lastFour: row.lastFour,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * Sessions, logins and API tokens. Only hashes of secrets are stored. A credential's identity is
 * cached briefly (IdentityCache), so an authenticated request costs no query; revocations evict it
 * on every replica (AuthRevocations); lastUsedAt writes happen in the background.
 */
export class AuthService {
  private readonly prisma: PrismaClient;
  private readonly sessionTtlMs: number;
  private readonly clock: () => Date;
  private readonly cache: IdentityCache;
  private readonly revocations: AuthRevocations;
  private readonly logger: Logger;

  constructor(options: {
    prisma: PrismaClient;
    sessionTtlHours: number;
    cache: IdentityCache;
    revocations: AuthRevocations;
    logger: Logger;
    clock?: () => Date;
  }) {
    this.prisma = options.prisma;
    this.sessionTtlMs = options.sessionTtlHours * 3600 * 1000;
    this.clock = options.clock ?? (() => new Date());
    this.cache = options.cache;
    this.revocations = options.revocations;
    this.logger = options.logger;
  }

  async login(email: string, password: string): Promise<{ user: User; token: string; expiresAt: Date }> {
    const user = await this.prisma.user.findUnique({ where: { email } });
    // Verify against a dummy hash for unknown users so the response time does not reveal them.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!user || !ok || !user.active) throw new AppError(401, "AUTH_INVALID", "Wrong email or password");
    return { user: toUserView(user), ...(await this.createSession(user.id)) };
  }

  async createSession(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = newSessionToken();
    const expiresAt = new Date(this.clock().getTime() + this.sessionTtlMs);
    await this.prisma.session.create({ data: { userId, tokenHash: sha256(token), expiresAt } });
    return { token, expiresAt };
  }

  async logout(sessionToken: string): Promise<void> {
    const tokenHash = sha256(sessionToken);
    const session = await this.prisma.session.findUnique({ where: { tokenHash }, select: { userId: true } });
    await this.prisma.session.deleteMany({ where: { tokenHash } });
    this.cache.evict(tokenHash);
    if (session) this.revocations.revokeUser(session.userId);
  }

  /** Resolves a session token or an API token to its user; throws AUTH_INVALID otherwise. */
  async authenticate(credential: string): Promise<Principal> {
    const now = this.clock();
    const hash = sha256(credential);
    const identity =
      this.cache.get(hash, now.getTime()) ??
      (credential.startsWith(API_TOKEN_PREFIX)
        ? await this.loadApiToken(hash)
        : await this.loadSession(hash));
    if (!identity || (identity.expiresAt && identity.expiresAt <= now) || !identity.user.active) {
      this.cache.evict(hash);
      throw invalid();
    }
    const touched = this.touch(identity, now);
    this.cache.set(hash, identity, now.getTime());
    if (identity.kind === "api_token") return { user: identity.user };
    return {
      user: identity.user,
      session: { token: credential, expiresAt: identity.expiresAt!, refreshed: touched },
    };
  }

  private async loadSession(tokenHash: string): Promise<CachedIdentity | null> {
    const row = await this.prisma.session.findUnique({ where: { tokenHash }, include: { user: true } });
    return row
      ? {
          user: toUserView(row.user),
          kind: "session",
          rowId: row.id,
          expiresAt: row.expiresAt,
          lastUsedAt: row.lastUsedAt,
          staleAt: 0,
        }
      : null;
  }

  private async loadApiToken(tokenHash: string): Promise<CachedIdentity | null> {
    const row = await this.prisma.apiToken.findUnique({ where: { tokenHash }, include: { user: true } });
    return row
      ? {
          user: toUserView(row.user),
          kind: "api_token",
          rowId: row.id,
          expiresAt: row.expiresAt,
          lastUsedAt: row.lastUsedAt,
          staleAt: 0,
        }
      : null;
  }

  /**
   * Records use at most once a minute per credential, off the request path: lastUsedAt, and for a
   * session its sliding expiry (returns true: the cookie is re-sent with the new expiry).
   */
  private touch(identity: CachedIdentity, now: Date): boolean {
    if (identity.lastUsedAt && now.getTime() - identity.lastUsedAt.getTime() <= TOUCH_INTERVAL_MS)
      return false;
    identity.lastUsedAt = now;
    const write =
      identity.kind === "session"
        ? this.prisma.session.updateMany({
            where: { id: identity.rowId },
            data: {
              lastUsedAt: now,
              expiresAt: (identity.expiresAt = new Date(now.getTime() + this.sessionTtlMs)),
            },
          })
        : this.prisma.apiToken.updateMany({ where: { id: identity.rowId }, data: { lastUsedAt: now } });
    write.catch((err: unknown) => this.logger.warn({ err }, "lastUsedAt not recorded"));
    return true;
  }

  async createApiToken(
    userId: string,
    input: { name: string; expiresAt?: string },
  ): Promise<{ token: string; apiToken: ApiTokenView }> {
    const token = newApiToken();
    const row = await this.prisma.apiToken.create({
      data: {
        userId,
        name: input.name,
        tokenHash: sha256(token),
        lastFour: token.slice(-4),
        expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
      },
    });
    return { token, apiToken: toApiTokenView(row) };
  }

  async listApiTokens(userId: string): Promise<ApiTokenView[]> {
    const rows = await this.prisma.apiToken.findMany({ where: { userId }, orderBy: { createdAt: "desc" } });
    return rows.map(toApiTokenView);
  }

  /** Revokes one of the caller's own tokens; someone else's token is indistinguishable from none. */
  async deleteApiToken(userId: string, tokenId: string): Promise<void> {
    const { count } = await this.prisma.apiToken.deleteMany({ where: { id: tokenId, userId } });
    if (count === 0) throw notFound("TOKEN_NOT_FOUND", "API token not found");
    this.revocations.revokeUser(userId);
  }
}
