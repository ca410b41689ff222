// A platform failure as an HTTP answer: the caller's request was fine but the platform (or its
// configuration) was not, so 4xx with a code naming the cause; an outage is 503, never a 500.
import type { ErrorCode } from "@optio/contracts";
import { AppError } from "../errors";
import { PlatformError, type PlatformErrorKind } from "./git-platform";

const ANSWERS: Record<PlatformErrorKind, [number, ErrorCode]> = {
  not_configured: [422, "PLATFORM_NOT_CONFIGURED"],
  auth: [422, "PLATFORM_AUTH_FAILED"],
  forbidden: [422, "PLATFORM_FORBIDDEN"],
  not_found: [422, "PLATFORM_NOT_FOUND"],
  invalid: [422, "PLATFORM_REFUSED"],
  conflict: [409, "PLATFORM_REFUSED"],
  rate_limited: [429, "PLATFORM_RATE_LIMITED"],
  unavailable: [503, "PLATFORM_UNAVAILABLE"],
};

/** Maps a PlatformError to an AppError naming `field`; anything else is rethrown as is. */
export function platformFailure(error: unknown, field: string): unknown {
  if (!(error instanceof PlatformError)) return error;
  const [status, code] = ANSWERS[error.kind];
  return new AppError(status, code, error.message, [{ path: field, reason: error.message }]);
}
