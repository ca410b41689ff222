// The error statuses a route documents, all with the one error body every route answers with.
import { ErrorResponse } from "@optio/contracts";

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 422 | 429 | 503;

/** `schema.response` entries for the given statuses, e.g. `errorResponses(400, 401, 404)`. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]): Record<S, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponse])) as Record<
    S,
    typeof ErrorResponse
  >;
}
