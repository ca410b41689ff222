import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import type { ErrorDetail, ErrorResponse } from "@optio/contracts";
import { isDatabaseUnavailable, isRefusedValue } from "../db/db-errors";
import { AppError } from "../errors";

type ValidationIssue = {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
};

/** One detail per offending field: `body.email`, `query.limit`, `params.id`. */
function validationDetails(context: string, issues: ValidationIssue[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const base = [context, ...issue.instancePath.split("/").filter(Boolean)].join(".");
    if (issue.keyword === "unrecognized_keys" && Array.isArray(issue.params.keys)) {
      return issue.params.keys.map((key) => ({ path: `${base}.${String(key)}`, reason: "unknown field" }));
    }
    return [{ path: base, reason: issue.message ?? issue.keyword }];
  });
}

const CONTEXT_NAMES: Record<string, string> = {
  querystring: "query",
  body: "body",
  params: "params",
  headers: "headers",
};

/** Maps every error to the envelope `{ error, code, details? }`; never leaks stacks or SQL. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      const body: ErrorResponse = { error: error.message, code: error.code };
      if (error.details) body.details = error.details;
      return reply.status(error.statusCode).send(body);
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const context = CONTEXT_NAMES[error.validationContext ?? "body"] ?? "body";
      const details = validationDetails(context, error.validation);
      const fields = [...new Set(details.map((detail) => detail.path))].join(", ");
      return reply.status(400).send({
        error: `Invalid request: ${fields}`,
        code: "VALIDATION_FAILED",
        details,
      } satisfies ErrorResponse);
    }
    // Fastify's own client errors (malformed JSON, wrong content type, body too large, ...).
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code =
        status === 413 ? "PAYLOAD_TOO_LARGE" : status === 429 ? "RATE_LIMITED" : "VALIDATION_FAILED";
      const path = error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ? "headers.content-type" : "body";
      return reply.status(status).send({
        error: error.message,
        code,
        details: code === "VALIDATION_FAILED" ? [{ path, reason: error.message }] : undefined,
      } satisfies ErrorResponse);
    }
    if (isRefusedValue(error)) {
      // Input Zod let through but Postgres cannot store (a NUL byte in a text, a number out of range).
      const reason = "contains a value the database cannot store";
      return reply.status(400).send({
        error: `Invalid request: the body ${reason}`,
        code: "VALIDATION_FAILED",
        details: [{ path: "body", reason }],
      } satisfies ErrorResponse);
    }
    if (isDatabaseUnavailable(error)) {
      // Postgres down or restarting: nothing was written; the client may retry.
      request.log.warn({ err: error, reqId: request.id }, "database unavailable");
      return reply
        .status(503)
        .header("retry-after", "1")
        .send({
          error: "The database is unavailable; retry shortly",
          code: "SERVICE_UNAVAILABLE",
        } satisfies ErrorResponse);
    }
    request.log.error({ err: error, reqId: request.id }, "unhandled error");
    return reply.status(500).send({
      error: `Internal server error (request ${request.id})`,
      code: "INTERNAL",
    } satisfies ErrorResponse);
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: `Route ${request.method} ${request.url.split("?")[0]} not found`, code: "NOT_FOUND" });
  });
}
