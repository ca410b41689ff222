import { z } from "zod";
import { CsvList, LogLevel, NatsCredentialsEnv, parseEnv } from "@optio/contracts";
import { SecretKey } from "./secrets/secret-cipher";

/** Everything the API reads from the environment, validated once at boot. */
export const ApiConfig = z.object({
  OPTIO_API_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  OPTIO_API_HOST: z.string().default("127.0.0.1"),
  DATABASE_URL: z.string().url(),
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** NATS_USER (default optio-api), NATS_PASSWORD or NATS_PASSWORD_FILE. */
  ...NatsCredentialsEnv,
  OPTIO_ALLOWED_REPO_HOSTS: CsvList.transform((hosts) => hosts.map((host) => host.toLowerCase())),
  OPTIO_DEFAULT_IMAGE: z.string().default("optio/agent:local"),
  OPTIO_SESSION_TTL_HOURS: z.coerce.number().positive().default(168),
  OPTIO_AUTH_RATE_LIMIT: z.coerce.number().int().positive().default(10),
  /** How long a credential's identity is cached (0: never); revocations evict it at once. */
  OPTIO_AUTH_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  OPTIO_TRUST_PROXY: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),
  /** How long a run's lease lasts without a heartbeat before the reaper requeues it. */
  OPTIO_LEASE_MS: z.coerce.number().int().min(1_000).default(30_000),
  OPTIO_REAP_INTERVAL_MS: z.coerce.number().int().min(100).default(2_000),
  /**
   * USD all runs may spend per UTC day; once spent, no new run starts until the next UTC day or a
   * higher cap (PUT /api/settings/budget overrides this). Unset: no daily cap.
   */
  OPTIO_DAILY_BUDGET_USD: z.preprocess(
    (value) => value || undefined,
    z.coerce.number().positive().max(10_000_000).optional(),
  ),
  /** Run timeout for tasks whose repo is not connected (connected repos set runTimeoutSeconds). */
  OPTIO_RUN_TIMEOUT_SECONDS: z.coerce.number().int().min(60).default(3600),
  /** A runner unheard of for this long disappears from GET /api/runners. */
  OPTIO_RUNNER_STALE_MS: z.coerce.number().int().min(1_000).default(20_000),
  /** Extra secret values (comma-separated) scrubbed from stored run logs. */
  OPTIO_LOG_SECRETS: CsvList,
  /** Verifies GitHub webhook deliveries when no stored secret of that name exists. */
  GITHUB_WEBHOOK_SECRET: z.string().optional(),
  /** How often the PR reconciler looks for work it still owes. */
  OPTIO_PR_SWEEP_MS: z.coerce.number().int().min(100).default(2_000),
  /** How often every followed PR is read from the platform (the fallback without webhooks; 0: never). */
  OPTIO_PR_POLL_MS: z.coerce.number().int().min(0).default(60_000),
  /** How often labelled issues of repos with `autoImportIssues` are imported; 0 turns the sync off. */
  OPTIO_ISSUE_SYNC_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === 0 || ms >= 1_000, "must be 0 (off) or at least 1000")
    .default(300_000),
  OPTIO_LOG_LEVEL: LogLevel,
  /** Encrypts stored secrets: 32 bytes as 64 hex characters or base64 (`npm start` creates one). */
  OPTIO_SECRET_KEY: SecretKey,
  /** The key before a rotation: values it encrypted are still read, and re-encrypted with the current key. */
  OPTIO_SECRET_KEY_PREVIOUS: z.preprocess((value) => value || undefined, SecretKey.optional()),
  /** Where the Anthropic key validator goes. */
  OPTIO_ANTHROPIC_API_URL: z.url().default("https://api.anthropic.com"),
  /** GET /metrics (Prometheus) on this port, on OPTIO_API_HOST; 0 turns it off. */
  OPTIO_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  /** Outbound webhooks: one attempt's HTTP timeout. */
  OPTIO_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Outbound webhooks: the first retry's delay; it doubles per attempt (with jitter) up to the cap. */
  OPTIO_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).default(10_000),
  OPTIO_WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).default(3_600_000),
  /** Outbound webhooks: a delivery not accepted within this long after its event is given up. */
  OPTIO_WEBHOOK_MAX_AGE_MS: z.coerce.number().int().min(1_000).default(86_400_000),
  /** A GitHub Enterprise-style host: repos at <url>/<owner>/<name> are on GitHub (github.com always is). */
  OPTIO_GITHUB_URL: z.string().url().optional(),
  /** Its REST API; default <OPTIO_GITHUB_URL>/api/v3 (https://api.github.com for github.com). */
  OPTIO_GITHUB_API_URL: z.string().url().optional(),
});
export type ApiConfig = z.output<typeof ApiConfig>;

/** Parses the environment, reporting every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv): ApiConfig {
  return parseEnv(ApiConfig, env);
}
