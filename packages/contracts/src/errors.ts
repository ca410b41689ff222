import { z } from "zod";

/** Stable machine-readable error codes. Clients switch on these, never on messages. */
export const ErrorCode = z.enum([
  "VALIDATION_FAILED",
  "NOT_FOUND",
  "AUTH_REQUIRED",
  "AUTH_INVALID",
  "FORBIDDEN",
  "RATE_LIMITED",
  "ALREADY_SET_UP",
  "CONFLICT",
  "EMAIL_TAKEN",
  "REPO_EXISTS",
  "REPO_NOT_FOUND",
  "REPO_URL_FORBIDDEN",
  "URL_FORBIDDEN",
  "WEBHOOK_NOT_FOUND",
  "USER_NOT_FOUND",
  "TOKEN_NOT_FOUND",
  "TASK_NOT_FOUND",
  "SECRET_NOT_FOUND",
  "INVALID_TRANSITION",
  "DEPENDENCY_CYCLE",
  "IDEMPOTENCY_KEY_REUSED",
  "PAYLOAD_TOO_LARGE",
  "SERVICE_UNAVAILABLE",
  "ISSUE_NOT_FOUND",
  "PLATFORM_NOT_CONFIGURED",
  "PLATFORM_AUTH_FAILED",
  "PLATFORM_FORBIDDEN",
  "PLATFORM_NOT_FOUND",
  "PLATFORM_REFUSED",
  "PLATFORM_RATE_LIMITED",
  "PLATFORM_UNAVAILABLE",
  "INTERNAL",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorDetail = z.object({
  path: z.string().describe("Dotted path of the offending field, e.g. body.email"),
  reason: z.string(),
});
export type ErrorDetail = z.infer<typeof ErrorDetail>;

/** The one envelope of every error response. */
export const ErrorResponse = z.object({
  error: z.string(),
  code: ErrorCode,
  details: z.array(z.unknown()).optional(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;
