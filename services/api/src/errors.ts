import type { ErrorCode, ErrorDetail } from "@optio/contracts";

/** The one error family services throw; the HTTP error handler maps it to the envelope. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown[],
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const notFound = (code: ErrorCode, message: string) => new AppError(404, code, message);
export const conflict = (code: ErrorCode, message: string, details?: unknown[]) =>
  new AppError(409, code, message, details);
export const forbidden = (message = "This action requires the admin role") =>
  new AppError(403, "FORBIDDEN", message);

/** A 400 naming one field, for checks Zod cannot express (e.g. ones needing the database). */
export const invalidField = (path: string, reason: string, code: ErrorCode = "VALIDATION_FAILED") =>
  new AppError(400, code, `Invalid ${path}: ${reason}`, [{ path, reason } satisfies ErrorDetail]);
