import { z } from "zod";
import { Timestamp } from "./common";
import { SetupStep } from "./secrets";

export const UserRole = z.enum(["admin", "member"]);
export type UserRole = z.infer<typeof UserRole>;

export const Email = z
  .email()
  .max(254)
  .transform((email) => email.toLowerCase());
export const Password = z.string().min(10, "must be at least 10 characters").max(256);

export const User = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  displayName: z.string().nullable().describe("What clients show: the display name set, else name"),
  role: UserRole,
  active: z.boolean(),
  createdAt: Timestamp,
});
export type User = z.infer<typeof User>;

export const SetupStatusResponse = z.object({
  /** The first admin exists, a git token and at least one agent credential are stored. */
  isSetUp: z.boolean(),
  steps: z.array(SetupStep),
});

const DisplayName = z.string().trim().min(1).max(200);

export const SetupCompleteBody = z.strictObject({
  email: Email,
  password: Password,
  name: z.string().trim().min(1).max(200).optional(),
  displayName: DisplayName.optional(),
});

export const LoginBody = z.strictObject({
  email: Email,
  password: z.string().min(1).max(256),
});

export const SessionResponse = z.object({ user: User, token: z.string() });
export const MeResponse = z.object({ user: User });
export const OkResponse = z.object({ ok: z.literal(true) });

export const ApiToken = z.object({
  id: z.uuid(),
  name: z.string(),
  lastFour: z.string(),
  expiresAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type ApiToken = z.infer<typeof ApiToken>;

export const CreateApiTokenBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expiresAt: Timestamp.refine((value) => Date.parse(value) > Date.now(), "must be in the future").optional(),
});
export const CreatedApiTokenResponse = z.object({
  token: z.string().describe("Shown once: optio_pat_<64 hex>"),
  apiToken: ApiToken,
});
export const ApiTokenListResponse = z.object({ tokens: z.array(ApiToken), total: z.number().int() });

export const CreateUserBody = z.strictObject({
  email: Email,
  password: Password,
  name: z.string().trim().min(1).max(200).optional(),
  displayName: DisplayName.optional(),
  role: UserRole.default("member"),
});
export const UpdateUserBody = z
  .strictObject({
    role: UserRole.optional(),
    active: z.boolean().optional(),
    name: z.string().trim().min(1).max(200).optional(),
    displayName: DisplayName.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "at least one field is required");
export const UserResponse = z.object({ user: User });
export const UserListResponse = z.object({ users: z.array(User), total: z.number().int() });

/** optio.auth.revoked: a user's sessions/tokens changed (logout, revoked token, role or active flag). */
export const AuthRevoked = z.object({ userId: z.uuid() });
export type AuthRevoked = z.infer<typeof AuthRevoked>;
