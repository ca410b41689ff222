import type { User, UserRole } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { conflict, notFound } from "../errors";
import type { AuthRevocations } from "../auth/auth-revocations";
import { hashPassword } from "../auth/crypto";
import { toUserView } from "./user.view";

// Serialises first-admin creation across concurrent requests and API replicas.
const SETUP_LOCK = 7_070_710;

type NewUser = { email: string; password: string; name?: string; displayName?: string; role: UserRole };

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "P2002";
}

/** First-admin setup and user administration. */
export class UserService {
  private readonly prisma: PrismaClient;
  private readonly revocations: AuthRevocations;

  constructor(options: { prisma: PrismaClient; revocations: AuthRevocations }) {
    this.prisma = options.prisma;
    this.revocations = options.revocations;
  }

  async isSetUp(): Promise<boolean> {
    return (await this.prisma.user.count({ where: { role: "admin" } })) > 0;
  }

  /** Creates the first admin; 409 ALREADY_SET_UP once any admin exists. */
  async completeSetup(input: {
    email: string;
    password: string;
    name?: string;
    displayName?: string;
  }): Promise<User> {
    const passwordHash = await hashPassword(input.password);
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SETUP_LOCK})`;
      if ((await tx.user.count({ where: { role: "admin" } })) > 0) {
        throw conflict("ALREADY_SET_UP", "Optio is already set up; log in instead");
      }
      const row = await tx.user.create({
        data: {
          email: input.email,
          name: input.name ?? null,
          displayName: input.displayName ?? null,
          passwordHash,
          role: "admin",
        },
      });
      return toUserView(row);
    });
  }

  async list(page: { limit: number; offset: number }): Promise<{ users: User[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.prisma.user.findMany({ orderBy: { createdAt: "asc" }, take: page.limit, skip: page.offset }),
      this.prisma.user.count(),
    ]);
    return { users: rows.map(toUserView), total };
  }

  async create(input: NewUser): Promise<User> {
    const passwordHash = await hashPassword(input.password);
    try {
      const row = await this.prisma.user.create({
        data: {
          email: input.email,
          name: input.name ?? null,
          displayName: input.displayName ?? null,
          passwordHash,
          role: input.role,
        },
      });
      return toUserView(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict("EMAIL_TAKEN", "A user with this email already exists");
      throw err;
    }
  }

  /** Changes role, names or active flag; never leaves the instance without an active admin. */
  async update(
    id: string,
    changes: { role?: UserRole; active?: boolean; name?: string; displayName?: string },
  ): Promise<User> {
    const user = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SETUP_LOCK})`;
      const current = await tx.user.findUnique({ where: { id } });
      if (!current) throw notFound("USER_NOT_FOUND", "User not found");
      const losesAdmin =
        current.role === "admin" && current.active && (changes.role === "member" || changes.active === false);
      if (losesAdmin && (await tx.user.count({ where: { role: "admin", active: true } })) <= 1) {
        throw conflict("CONFLICT", "The last active admin cannot be demoted or deactivated");
      }
      const row = await tx.user.update({ where: { id }, data: changes });
      // A deactivated user is logged out everywhere at once.
      if (changes.active === false) await tx.session.deleteMany({ where: { userId: id } });
      return toUserView(row);
    });
    // Cached identities carry the role and active flag: every replica re-reads them.
    this.revocations.revokeUser(id);
    return user;
  }
}
