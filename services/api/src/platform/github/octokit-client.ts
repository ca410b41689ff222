// The Octokit every GitHub call goes through: REST methods, the throttling plugin (waits out
// primary and secondary rate limits, honouring `retry-after` and `x-ratelimit-reset`) and the retry
// plugin (network errors and 5xx). Logs never carry the token.
import { Octokit } from "@octokit/rest";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import type { Logger } from "pino";

export const GitHubOctokit = Octokit.plugin(throttling, retry);
export type GitHubOctokit = InstanceType<typeof GitHubOctokit>;

export type BackoffSettings = {
  /** Rate-limit waits longer than this are not waited for: the call fails as rate limited. */
  maxWaitSeconds: number;
  /** Retries of one request after rate limits. */
  maxRateLimitRetries: number;
  /** Retries after network errors and 5xx. */
  retries: number;
  /** Milliseconds per second of `retry-after` (1000; tests shrink it). */
  unitMs: number;
};

export const DEFAULT_BACKOFF: BackoffSettings = {
  maxWaitSeconds: 120,
  maxRateLimitRetries: 3,
  retries: 2,
  unitMs: 1000,
};

export type OctokitAuth = string | { authStrategy: unknown; auth: Record<string, unknown> };

export function createOctokit(options: {
  baseUrl: string;
  auth: OctokitAuth;
  logger: Logger;
  backoff?: Partial<BackoffSettings>;
}): GitHubOctokit {
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const log = options.logger;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const retrying = retryCount < backoff.maxRateLimitRetries && retryAfter <= backoff.maxWaitSeconds;
      log.warn(
        { kind, retryAfter, retryCount, retrying, method: request.method, url: request.url },
        "GitHub rate limit",
      );
      return retrying;
    };
  const auth = typeof options.auth === "string" ? { auth: options.auth } : options.auth;
  return new GitHubOctokit({
    ...auth,
    baseUrl: options.baseUrl,
    userAgent: "optio",
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => log.warn({ component: "octokit" }, message),
      error: (message: string) => log.error({ component: "octokit" }, message),
    },
    throttle: {
      onRateLimit: onLimit("primary"),
      onSecondaryRateLimit: onLimit("secondary"),
      retryAfterBaseValue: backoff.unitMs,
      fallbackSecondaryRateRetryAfter: 60,
    },
    retry: { retries: backoff.retries, retryAfterBaseValue: backoff.unitMs },
  });
}
