import type { FastifyRequest } from "fastify";
import { currentUser } from "../auth/auth.plugin";
import type { Actor } from "./task-machine";

/** The authenticated user of a request as the actor of the changes it causes. */
export const userActor = (request: FastifyRequest): Actor => ({
  kind: "user",
  userId: currentUser(request).id,
});
