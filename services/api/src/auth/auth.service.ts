import type { ApiToken as ApiTokenView, User } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { AppError, notFound } from "../errors";
import type { ApiToken as ApiTokenRow } from "../generated/prisma/client";
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

/** Sessions, logins and API tokens. Only hashes of secrets are stored. */
export class AuthService {
  private readonly prisma: PrismaClient;
  private readonly sessionTtlMs: number;
  private readonly clock: () => Date;

  constructor(options: { prisma: PrismaClient; sessionTtlHours: number; clock?: () => Date }) {
    this.prisma = options.prisma;
    this.sessionTtlMs = options.sessionTtlHours * 3600 * 1000;
    this.clock = options.clock ?? (() => new Date());
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
    await this.prisma.session.deleteMany({ where: { tokenHash: sha256(sessionToken) } });
  }

  /** Resolves a session token or an API token to its user; throws AUTH_INVALID otherwise. */
  async authenticate(credential: string): Promise<Principal> {
    return credential.startsWith(API_TOKEN_PREFIX)
      ? this.authenticateApiToken(credential)
      : this.authenticateSession(credential);
  }

  private async authenticateSession(token: string): Promise<Principal> {
    const now = this.clock();
    const session = await this.prisma.session.findUnique({
      where: { tokenHash: sha256(token) },
      include: { user: true },
    });
    if (!session || session.expiresAt <= now || !session.user.active) throw invalid();
    // Sliding expiry, written at most once a minute per session to keep reads cheap.
    const refreshed = now.getTime() - session.lastUsedAt.getTime() > 60_000;
    let expiresAt = session.expiresAt;
    if (refreshed) {
      expiresAt = new Date(now.getTime() + this.sessionTtlMs);
      await this.prisma.session.update({ where: { id: session.id }, data: { lastUsedAt: now, expiresAt } });
    }
    return { user: toUserView(session.user), session: { token, expiresAt, refreshed } };
  }

  private async authenticateApiToken(token: string): Promise<Principal> {
    const now = this.clock();
    const row = await this.prisma.apiToken.findUnique({
      where: { tokenHash: sha256(token) },
      include: { user: true },
    });
    if (!row || (row.expiresAt && row.expiresAt <= now) || !row.user.active) throw invalid();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
      await this.prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
    }
    return { user: toUserView(row.user) };
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
  }
}
