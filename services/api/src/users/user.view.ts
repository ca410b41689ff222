import type { User } from "@optio/contracts";
import type { User as UserRow } from "../generated/prisma/client";

/** The public shape of a user: never the password hash. */
export function toUserView(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    displayName: row.displayName ?? row.name,
    role: row.role,
    active: row.active,
    createdAt: row.createdAt.toISOString(),
  };
}
