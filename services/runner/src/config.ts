import { hostname } from "node:os";
import { z } from "zod";
import { AgentType, CsvList, LogLevel, NatsCredentialsEnv, parseEnv, RunnerId } from "@optio/contracts";
import { PriceEntries } from "./price-table";

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** A JSON document in a variable (unset or empty: `{}`). */
const json = z
  .string()
  .optional()
  .transform((text, ctx): unknown => {
    if (!text?.trim()) return {};
    try {
      return JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be a JSON object" });
      return z.NEVER;
    }
  });

/** A runner id derived from the host name when OPTIO_RUNNER_ID is not set. */
export function defaultRunnerId(host = hostname()): string {
  const id = host
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 64);
  return id || "runner";
}

/** Everything the runner reads from the environment, validated once at boot. */
export const RunnerConfig = z.object({
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** NATS_USER (default runner-<OPTIO_RUNNER_ID>), NATS_PASSWORD or NATS_PASSWORD_FILE. */
  ...NatsCredentialsEnv,
  OPTIO_RUNNER_ID: RunnerId.default(() => defaultRunnerId()),
  OPTIO_RUNNER_LABELS: CsvList,
  OPTIO_RUNNER_AGENT_TYPES: CsvList.pipe(z.array(AgentType)).transform((types) =>
    types.length > 0 ? types : (["claude", "codex", "shell"] as AgentType[]),
  ),
  OPTIO_RUNNER_SLOTS: int(1, 256, 2),
  /** GET /metrics (Prometheus) on this port; 0 (default) turns it off (`npm start`: 9465, 9466, …). */
  OPTIO_RUNNER_METRICS_PORT: int(0, 65_535, 0),
  OPTIO_RUNNER_METRICS_HOST: z.string().default("127.0.0.1"),
  /**
   * Docker driver: containers kept created and started ahead of time (default image and limits),
   * each waiting for one run's spec; 0 disables the pool.
   */
  OPTIO_RUNNER_WARM_POOL: int(0, 64, 0),
  /**
   * Docker driver: a host directory of bare mirrors, one per repository, that run clones borrow
   * objects from (mounted read-only). Unset: no cache.
   */
  OPTIO_RUNNER_REPO_CACHE: z.string().startsWith("/", "must be an absolute path").optional(),
  /**
   * Docker driver with the repo cache: a cold run starts from its repository's workspace snapshot,
   * an image holding the checkout, made in the background (`false`: every run checks out its files).
   */
  OPTIO_RUNNER_WORKSPACE_SNAPSHOTS: z
    .enum(["true", "false"])
    .default("true")
    .transform((value) => value === "true"),
  /** Workspace snapshots kept at most (per runner); beyond, the least recently used are removed. */
  OPTIO_RUNNER_WORKSPACE_SNAPSHOTS_MAX: int(1, 10_000, 32),
  /**
   * A moved branch gets a new workspace snapshot only once the current one is this old (runs
   * meanwhile check out the difference): bounds the background builds of a busy repository.
   */
  OPTIO_RUNNER_WORKSPACE_SNAPSHOT_MIN_AGE_S: int(0, 86_400, 300),
  /**
   * Agent sessions (the CLIs' session files, kept per task in NATS so a resume on any runner finds
   * them): how long one is kept after its task's last run, and the largest kept (compressed).
   */
  OPTIO_RUNNER_SESSION_TTL_HOURS: int(1, 24 * 365, 7 * 24),
  OPTIO_RUNNER_SESSION_MAX_MB: int(1, 1024, 32),
  OPTIO_RUNNER_DRIVER: z.enum(["docker", "local", "kubernetes"]).default("docker"),
  /** Image for runs whose spec names none. */
  OPTIO_RUNNER_IMAGE: z.string().min(1).default("optio/agent:local"),
  OPTIO_RUNNER_MEMORY_MB: int(32, 1_048_576, 2048),
  OPTIO_RUNNER_CPUS: z.coerce.number().positive().max(256).default(1),
  OPTIO_RUNNER_PIDS: int(16, 1_000_000, 512),
  /**
   * Container network (docker driver): the engine's default `bridge`, a user-defined network by name
   * (`npm start`: optio-runs, a bridge without inter-container traffic), `none`, or `host`, which
   * shares the host's loopback (Postgres, NATS, the API) with the agent: tests and trusted dev only.
   */
  OPTIO_RUNNER_NETWORK: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "must be bridge, host, none or a Docker network name")
    .default("bridge"),
  /** Numeric uid:gid the agent runs as inside the container (the image's `agent` user). */
  OPTIO_RUNNER_CONTAINER_USER: z
    .string()
    .regex(/^[1-9][0-9]*(:[0-9]+)?$/, "must be a numeric non-root uid[:gid]")
    .default("1000:1000"),
  /** The engine: DOCKER_HOST (unix:// or tcp://) when set, else the socket path. */
  DOCKER_HOST: z.string().optional(),
  DOCKER_SOCKET: z.string().default("/var/run/docker.sock"),
  /** `missing`: pull an image the engine lacks (production); `never`: fail the run instead. */
  OPTIO_RUNNER_PULL: z.enum(["never", "missing"]).default("never"),
  OPTIO_RUNNER_HEARTBEAT_MS: int(200, 600_000, 5000),
  /** Back-stop poll for work when no wakeup arrives. */
  OPTIO_RUNNER_POLL_MS: int(100, 600_000, 10_000),
  /**
   * How long a claim may take. Generous: a claim the API commits after the runner gave up is only
   * recovered by lease expiry (as a new attempt), so giving up early costs more than waiting.
   */
  OPTIO_RUNNER_CLAIM_TIMEOUT_MS: int(100, 120_000, 15_000),
  /** SIGTERM → SIGKILL grace when a run is stopped (cancel, timeout, shutdown). */
  OPTIO_RUNNER_STOP_GRACE_MS: int(0, 600_000, 10_000),
  /** On SIGTERM: how long running runs may finish before they are stopped and handed back. */
  OPTIO_RUNNER_SHUTDOWN_MS: int(0, 3_600_000, 30_000),
  /**
   * The meter's prices, USD per million tokens, over the defaults (price-table.ts):
   * `{"<model or prefix>": {"input": 3, "output": 15, "cacheRead": 0.3, "cacheWrite": 3.75}, ...}`;
   * `default` prices unknown models, `agent:codex` a Codex run that names no model.
   */
  OPTIO_RUNNER_MODEL_PRICES: json.pipe(PriceEntries),
  /** Log lines are sent in batches: at most this many lines, or after this delay. */
  OPTIO_RUNNER_LOG_BATCH_LINES: int(1, 1000, 200),
  OPTIO_RUNNER_LOG_BATCH_MS: int(0, 10_000, 100),
  /** JSON file `{ "<name>": { "username": "...", "secret": "..." } }` for `runner` git credentials. */
  OPTIO_RUNNER_GIT_CREDENTIALS: z.string().optional(),
  /** Kubernetes driver: the kubeconfig file (else in-cluster, then ~/.kube/config) and its context. */
  OPTIO_RUNNER_KUBECONFIG: z.string().optional(),
  OPTIO_RUNNER_KUBE_CONTEXT: z.string().optional(),
  /** Kubernetes driver: the namespace run Pods are created in. */
  OPTIO_RUNNER_KUBE_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS label")
    .default("optio-runs"),
  /** Kubernetes driver: a RuntimeClass for stronger isolation (e.g. gVisor `gvisor`, Kata `kata`). */
  OPTIO_RUNNER_KUBE_RUNTIME_CLASS: z.string().min(1).optional(),
  /** Kubernetes driver: image pull secrets (names in the runs namespace). */
  OPTIO_RUNNER_KUBE_PULL_SECRETS: CsvList,
  /** Kubernetes driver: how long a Pod may stay unscheduled or pulling before the run fails. */
  OPTIO_RUNNER_KUBE_START_TIMEOUT_MS: int(1000, 3_600_000, 300_000),
  /** Local driver: the run entrypoint script and the parent of per-run temporary directories. */
  OPTIO_RUNNER_ENTRYPOINT: z.string().optional(),
  OPTIO_RUNNER_WORK_DIR: z.string().optional(),
  OPTIO_LOG_LEVEL: LogLevel,
});
export type RunnerConfig = z.output<typeof RunnerConfig>;

/** Parses the environment, reporting every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv): RunnerConfig {
  return parseEnv(RunnerConfig, env);
}
