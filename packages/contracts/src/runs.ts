// The runner ↔ API wire. Runners pull work (claim request/reply over core NATS), report what happens
// in a run on JetStream (`optio.runner.<runnerId>.run.<runId>.<kind>`), and receive commands
// (cancel, a person's message for the agent) on core NATS. Subjects: subjects.ts; who may use which:
// nats-permissions.ts.
// Every run report carries runId + attempt (the lease it believes current) + a per-run sequence
// number, so the API applies each report once and refuses reports of a superseded attempt.
import { z } from "zod";
import { AgentType } from "./repos";

/** One NATS token: lower-case letters, digits, `-` and `_` (ids sit in fixed subject positions). */
export const RunnerId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "must be lower-case letters, digits, '-' or '_'");
export type RunnerId = z.infer<typeof RunnerId>;

export const RunnerDriver = z.enum(["docker", "local", "kubernetes"]);
export type RunnerDriver = z.infer<typeof RunnerDriver>;

/** Free-form capability labels, e.g. `gpu`, `region=eu`. A task may require some of them. */
export const RunnerLabels = z.array(z.string().min(1).max(100)).max(50);

export const Slots = z.object({
  total: z.number().int().min(0),
  busy: z.number().int().min(0),
});

const Time = z.iso.datetime({ offset: true });

/** A runner's warm pool: target size, containers started and waiting, and runs served from it. */
export const WarmPool = z.object({
  size: z.number().int().min(0),
  ready: z.number().int().min(0),
  used: z.number().int().min(0),
});
export type WarmPool = z.infer<typeof WarmPool>;

/** What a runner says about itself, in its announce and in every heartbeat. */
export const RunnerInfo = z.object({
  runnerId: RunnerId,
  host: z.string().min(1).max(255),
  version: z.string().min(1).max(100),
  driver: RunnerDriver,
  /** false for the `local` driver: runs share the runner's host, user and network. */
  isolated: z.boolean(),
  slots: Slots,
  agentTypes: z.array(AgentType).min(1),
  labels: RunnerLabels,
  /** The warm container pool, when the runner keeps one (OPTIO_RUNNER_WARM_POOL). */
  pool: WarmPool.optional(),
  startedAt: Time,
});
export type RunnerInfo = z.infer<typeof RunnerInfo>;

/**
 * Published once on `optio.runner.<id>.announced` when a runner process starts: it holds no run, so
 * runs still leased to its id are lost. NOT repeated after a NATS reconnect (a heartbeat is sent then).
 */
export const RunnerAnnounced = RunnerInfo.extend({ time: Time });
export type RunnerAnnounced = z.infer<typeof RunnerAnnounced>;

/** A run a runner currently holds, with the attempt it believes current (its lease). */
export const HeldRun = z.object({
  runId: z.uuid(),
  attempt: z.number().int().min(1),
});
export type HeldRun = z.infer<typeof HeldRun>;

/**
 * Sent as a request on `optio.runner.<id>.heartbeat` every few seconds; renews the leases of
 * `runs`. `stopping` is set while the runner drains before exit (it claims nothing more).
 */
export const RunnerHeartbeat = RunnerInfo.extend({
  time: Time,
  runs: z.array(HeldRun),
  stopping: z.boolean().default(false),
});
export type RunnerHeartbeat = z.infer<typeof RunnerHeartbeat>;

export const StopReason = z.enum(["cancelled", "superseded", "timeout", "lease_lost"]);
export type StopReason = z.infer<typeof StopReason>;

/** The API's answer to a heartbeat: runs the runner must stop (a missed cancel, a fenced lease). */
export const RunnerHeartbeatReply = z.object({
  stop: z.array(HeldRun.extend({ reason: StopReason })).default([]),
});
export type RunnerHeartbeatReply = z.infer<typeof RunnerHeartbeatReply>;

// ---------------------------------------------------------------- dispatch

/**
 * Request on `optio.runner.<runnerId>.claim` (API replicas answer from one queue group); the API
 * refuses a claim whose `runnerId` is not the one in its subject.
 */
export const ClaimRequest = z.object({
  runnerId: RunnerId,
  /**
   * Makes the claim idempotent: a runner that did not get the reply asks again with the same id
   * and receives the same run, instead of leaving it to lease expiry.
   */
  claimId: z.uuid().optional(),
  freeSlots: z.number().int().min(1),
  agentTypes: z.array(AgentType).min(1),
  labels: RunnerLabels,
  /**
   * The runner reads `runs` in the reply: up to `freeSlots` runs are claimed at once. Without it
   * (runners that read only `run`) one run at most.
   */
  batch: z.boolean().optional(),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const RunLimits = z.object({
  memoryMb: z.number().int().min(32).max(1_048_576),
  cpus: z.number().positive().max(256),
  pids: z.number().int().min(16).max(1_000_000),
});
export type RunLimits = z.infer<typeof RunLimits>;

/**
 * How the container gets its git credential. The value never appears in a URL, a log line or an
 * event: the entrypoint hands it to git through a credential helper reading a file.
 * - `none`: public repository (or a test git server without auth).
 * - `inline`: the API sends the secret in the claim reply, which only the claiming runner's identity
 *   can read (nats-permissions.ts); off a single host, NATS needs TLS as well.
 * - `runner`: the runner resolves `name` from its own secret store (OPTIO_RUNNER_GIT_CREDENTIALS).
 */
export const GitCredential = z.discriminatedUnion("source", [
  z.object({ source: z.literal("none") }),
  z.object({
    source: z.literal("inline"),
    username: z.string().min(1).max(200).default("x-access-token"),
    secret: z.string().min(1).max(10_000),
  }),
  z.object({ source: z.literal("runner"), name: z.string().min(1).max(100) }),
]);
export type GitCredential = z.infer<typeof GitCredential>;

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** Everything a runner needs to execute one attempt of a task. */
export const RunSpec = z.object({
  runId: z.uuid(),
  taskId: z.uuid(),
  attempt: z.number().int().min(1),
  title: z.string().max(500).default(""),
  repoUrl: z.string().min(1).max(500),
  repoBranch: z.string().min(1).max(200),
  /** `optio/<short-task-id>-<slug>`, see runBranchName. */
  branchName: z.string().min(1).max(200),
  agentType: AgentType,
  prompt: z.string().max(200_000),
  model: z.string().max(200).nullish(),
  /** The run stops once it has begun more turns than this (see the runner's meter). */
  maxTurns: z.number().int().min(1).max(10_000).nullish(),
  /** The run stops once its metered cost crosses this (USD). */
  maxCostUsd: z.number().positive().max(1_000_000).nullish(),
  resumeSessionId: z.string().max(200).nullish(),
  /**
   * The task's own prompt, on a run whose `prompt` is a follow-up (a resume, a fix-up): a run whose
   * session cannot be restored starts a new one from both.
   */
  taskPrompt: z.string().max(200_000).nullish(),
  /** null: the runner's default image. */
  image: z.string().max(255).nullish(),
  /** null: the runner's default limits. */
  limits: RunLimits.nullish(),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400),
  /** Plain environment for the agent (OPTIO_* variables are set by the runner and win). */
  env: z.record(EnvName, z.string().max(100_000)).default({}),
  /** Secret environment for the agent (API keys); redacted from every log line the runner sends. */
  secretEnv: z.record(EnvName, z.string().max(100_000)).default({}),
  gitCredential: GitCredential.default({ source: "none" }),
});
export type RunSpec = z.output<typeof RunSpec>;
export type RunSpecInput = z.input<typeof RunSpec>;

/**
 * Reply to a claim: `runs` (at most `freeSlots`, empty when there is no eligible work), and `run`,
 * the first of them or null, for runners that predate `runs`.
 */
export const ClaimReply = z.object({ run: RunSpec.nullable(), runs: z.array(RunSpec).default([]) });
export type ClaimReply = z.infer<typeof ClaimReply>;

/** Published (no payload needed beyond a hint) on `optio.dispatch.wakeup` when work becomes eligible. */
export const DispatchWakeup = z.object({
  time: Time,
  agentType: AgentType.optional(),
});
export type DispatchWakeup = z.infer<typeof DispatchWakeup>;

// ---------------------------------------------------------------- reports (JetStream)

/** JetStream stream for run reports. The cancel command (`….run.<id>.cancel`) is NOT in it. */
export const RUNS_STREAM = "OPTIO_RUNS";
/**
 * The JetStream object store where runners keep the agent CLIs' session files between a task's runs
 * (services/runner/src/agent-sessions.ts), one object per task id; its stream is `OBJ_<bucket>`.
 */
export const AGENT_SESSIONS_BUCKET = "optio_agent_sessions";
export const RunReportKind = z.enum(["started", "log", "heartbeat", "result", "exited"]);
export type RunReportKind = z.infer<typeof RunReportKind>;
/** `optio.runner.<runnerId>.run.<runId>.<kind>` for every report kind (see subjects.runReport). */
export const RUNS_STREAM_SUBJECTS = RunReportKind.options.map((kind) => `optio.runner.*.run.*.${kind}`);

/**
 * The JetStream message id of a report: republishing after a reconnect deduplicates. `nonce` is
 * random per reporter (one run attempt on one runner) and never leaves the stream: the stream
 * deduplicates by id whatever the subject, so an id another runner could predict would let it
 * have this runner's report dropped as a duplicate.
 */
export const runReportMsgId = (r: { runId: string; attempt: number; seq: number }, nonce: string) =>
  `${r.runId}:${r.attempt}:${r.seq}:${nonce}`;

const ReportBase = z.object({
  runId: z.uuid(),
  taskId: z.uuid(),
  attempt: z.number().int().min(1),
  /** Per-run, per-attempt sequence over all kinds, starting at 1, without gaps. */
  seq: z.number().int().min(1),
  runnerId: RunnerId,
  time: Time,
});

export const LogStream = z.enum(["stdout", "stderr", "system"]);
export const LogType = z.enum([
  "text",
  "tool_call",
  "tool_result",
  "error",
  "usage",
  "session",
  "system",
  "stdout",
  "stderr",
]);
export type LogType = z.infer<typeof LogType>;

/** One stored log line. `n` numbers lines per run attempt from 1; it is the log cursor. */
export const LogLine = z.object({
  n: z.number().int().min(1),
  stream: LogStream,
  type: LogType,
  time: Time,
  content: z.string().max(100_000),
  /** Structured data of a parsed agent event (tool name and input, usage, …). */
  data: z.record(z.string(), z.unknown()).optional(),
});
export type LogLine = z.infer<typeof LogLine>;

export const RunErrorCode = z.enum([
  "RUN_TIMEOUT",
  "OOM_KILLED",
  "CANCELLED",
  "SUPERSEDED",
  "CLONE_FAILED",
  "PUSH_FAILED",
  "AGENT_FAILED",
  "AGENT_NO_OUTPUT",
  "AGENT_AUTH_FAILED",
  "AGENT_API_UNAVAILABLE",
  "IMAGE_NOT_FOUND",
  "CONTAINER_FAILED",
  "RUNNER_SHUTDOWN",
  "INVALID_SPEC",
  /** The run crossed its cost or turn cap: stopped by the runner's meter, or by the agent itself. */
  "BUDGET_EXCEEDED",
]);
export type RunErrorCode = z.infer<typeof RunErrorCode>;

export const RunError = z.object({ code: RunErrorCode, message: z.string().max(2000) });
export type RunError = z.infer<typeof RunError>;

export const RunStarted = ReportBase.extend({
  kind: z.literal("started"),
  containerId: z.string().max(200).nullable(),
  driver: RunnerDriver,
  image: z.string().max(255).nullable(),
});
export const RunLog = ReportBase.extend({
  kind: z.literal("log"),
  lines: z.array(LogLine).min(1).max(1000),
});
export const RunHeartbeat = ReportBase.extend({ kind: z.literal("heartbeat") });
/** A review agent's verdict, read from its documented last line (see parseReviewVerdict). */
export const ReviewVerdict = z.object({
  verdict: z.enum(["approve", "request_changes"]),
  body: z.string().max(60_000),
});
export type ReviewVerdict = z.infer<typeof ReviewVerdict>;

export const RunResult = ReportBase.extend({
  kind: z.literal("result"),
  /** The agent's exit code (not the container's). */
  exitCode: z.number().int(),
  branch: z.string().max(200),
  /** The branch reached the remote. */
  pushed: z.boolean(),
  /** Commits on the branch beyond repoBranch. */
  commits: z.number().int().min(0),
  headSha: z.string().max(64).nullable(),
  sessionId: z.string().max(200).nullable(),
  model: z.string().max(200).nullable(),
  costUsd: z.number().min(0).nullable(),
  inputTokens: z.number().int().min(0).nullable(),
  outputTokens: z.number().int().min(0).nullable(),
  error: RunError.nullable(),
  /** Set when the agent ended with a review verdict line (review runs). */
  review: ReviewVerdict.nullish(),
});
export const ExitReason = z.enum([
  "completed",
  "cancelled",
  "superseded",
  "timeout",
  "oom",
  "error",
  "shutdown",
  /** A cost or turn cap stopped the run. */
  "budget",
]);
export type ExitReason = z.infer<typeof ExitReason>;
export const RunExited = ReportBase.extend({
  kind: z.literal("exited"),
  /** The container's (or process's) exit code; null when it never started. */
  exitCode: z.number().int().nullable(),
  reason: ExitReason,
  oomKilled: z.boolean(),
  durationMs: z.number().int().min(0),
  error: RunError.nullable(),
});

export const RunReport = z.discriminatedUnion("kind", [
  RunStarted,
  RunLog,
  RunHeartbeat,
  RunResult,
  RunExited,
]);
export type RunReport = z.infer<typeof RunReport>;
export type RunStarted = z.infer<typeof RunStarted>;
export type RunLog = z.infer<typeof RunLog>;
export type RunHeartbeat = z.infer<typeof RunHeartbeat>;
export type RunResult = z.infer<typeof RunResult>;
export type RunExited = z.infer<typeof RunExited>;

// ---------------------------------------------------------------- commands

/**
 * Core NATS on `optio.runner.<runnerId>.run.<runId>.cancel`, to the runner holding the run: a hint
 * carrying ids; the runner stops that attempt.
 */
export const RunCancel = z.object({
  runId: z.uuid(),
  attempt: z.number().int().min(1).optional(),
  reason: StopReason.default("cancelled"),
  /** Grace before SIGKILL; the runner's default when absent. */
  graceMs: z.number().int().min(0).max(600_000).optional(),
});
export type RunCancel = z.infer<typeof RunCancel>;

/** The longest message a person may send a running agent (characters). */
export const MESSAGE_MAX_CHARS = 8000;

/**
 * Request on `optio.runner.<runnerId>.run.<runId>.message` (core NATS) to the runner holding the
 * run: a person's message for the running agent, after an interrupt of its current turn if asked.
 */
export const RunMessage = z.object({
  runId: z.uuid(),
  attempt: z.number().int().min(1),
  messageId: z.uuid(),
  text: z.string().min(1).max(MESSAGE_MAX_CHARS),
  interrupt: z.boolean().default(false),
});
export type RunMessage = z.infer<typeof RunMessage>;

/** The runner's reply: written to the agent's input, or not, and why (for the person). */
export const RunMessageReply = z.object({
  delivered: z.boolean(),
  /** The agent's current turn was interrupted before the message. */
  interrupted: z.boolean().default(false),
  reason: z.string().max(500).nullable().default(null),
});
export type RunMessageReply = z.infer<typeof RunMessageReply>;

// ---------------------------------------------------------------- helpers

/** `optio/<first 8 hex of the task id>-<slug of the title, ≤ 40 chars>`. */
export function runBranchName(taskId: string, title: string): string {
  const slug = title
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
  const short = taskId.replace(/-/g, "").slice(0, 8);
  return slug ? `optio/${short}-${slug}` : `optio/${short}`;
}
