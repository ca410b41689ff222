// Pure: from a claimed RunSpec to everything a driver needs to start the run. No I/O.
import type { RunLimits, RunSpec } from "@optio/contracts";
import { getAdapter } from "@optio/agents";
import type { RunnerConfig } from "./config";
import type { RunPaths } from "./driver";

/** Run-directory files of the agent's sessions: restored before it starts, packed after it exits. */
export const SESSION_IN_FILE = "agent-session.tgz";
export const SESSION_OUT_FILE = "agent-session.out.tgz";

export interface RunFile {
  /** File name inside the run directory. */
  name: string;
  content: Buffer;
  mode: number;
}

export interface GitCredentialValue {
  username: string;
  secret: string;
}

export interface RunPlan {
  runId: string;
  taskId: string;
  attempt: number;
  runnerId: string;
  image: string;
  limits: RunLimits;
  /** Plain environment of the run (never secrets: those go in files). */
  env: Record<string, string>;
  /** Files put in the run directory before start: agent argv, prompt, secret env, git credential. */
  files: RunFile[];
  labels: Record<string, string>;
  /** Values redacted from every log line. */
  secrets: string[];
  timeoutMs: number;
  /**
   * Docker driver: the repo cache's mirror of this run's repository (its directory name), mounted
   * read-only on its own so a run can read no other repository's objects.
   */
  repoMirror?: string;
}

export interface PlanOptions {
  config: RunnerConfig;
  paths: RunPaths;
  /** Named credentials the runner holds (OPTIO_RUNNER_GIT_CREDENTIALS), for `runner` git credentials. */
  gitCredentials: Record<string, GitCredentialValue>;
  /** The task's kept agent sessions (agent-sessions.ts), restored into the run's home before the agent starts. */
  sessionArchive?: Buffer | null;
}

export const LABELS = {
  managed: "optio.managed",
  run: "optio.run",
  task: "optio.task",
  attempt: "optio.attempt",
  runner: "optio.runner",
} as const;

export class PlanError extends Error {}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Refuses what envFile could not write exactly: a bad name, or a NUL (it would split its entry). */
function checkEnv(entries: Record<string, string>): void {
  for (const [name, value] of Object.entries(entries)) {
    if (!ENV_NAME.test(name))
      throw new PlanError(`invalid environment variable name: ${JSON.stringify(name)}`);
    if (value.includes("\0")) throw new PlanError(`environment variable ${name} contains a NUL byte`);
  }
}

/**
 * An environment as optio-run.sh reads it: NUL-terminated NAME=value entries, which bash's
 * `read -d ''` takes apart with no process per variable (a fork costs ~7 ms in a small VM). Errors
 * never quote a value.
 */
export function envFile(entries: Record<string, string>): Buffer {
  checkEnv(entries);
  return Buffer.from(
    Object.entries(entries)
      .map(([name, value]) => `${name}=${value}\0`)
      .join(""),
  );
}

function resolveGitCredential(spec: RunSpec, options: PlanOptions): GitCredentialValue | null {
  const credential = spec.gitCredential;
  switch (credential.source) {
    case "none":
      return null;
    case "inline":
      return { username: credential.username, secret: credential.secret };
    case "runner": {
      const value = options.gitCredentials[credential.name];
      if (!value) throw new PlanError(`git credential "${credential.name}" is not configured on this runner`);
      return value;
    }
  }
}

const file = (name: string, content: string | Buffer, mode = 0o400): RunFile => ({
  name,
  content: Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8"),
  mode,
});

export function planRun(spec: RunSpec, options: PlanOptions): RunPlan {
  const { config, paths } = options;
  const adapter = getAdapter(spec.agentType);
  const command = adapter.command({
    prompt: spec.prompt,
    promptFile: `${paths.runDir}/prompt`,
    model: spec.model,
    maxTurns: spec.maxTurns,
    // The agent's own cap, a second line behind the runner's meter (Claude Code's --max-budget-usd).
    maxBudgetUsd: spec.maxCostUsd,
    resumeSessionId: spec.resumeSessionId,
    modelBaseUrl: adapter.endpointVariable ? spec.secretEnv[adapter.endpointVariable] : null,
  });
  const credential = resolveGitCredential(spec, options);

  const env: Record<string, string> = {
    ...spec.env,
    ...command.env,
    ...paths.env,
    OPTIO_TASK_ID: spec.taskId,
    OPTIO_RUN_ID: spec.runId,
    OPTIO_ATTEMPT: String(spec.attempt),
    OPTIO_TASK_TITLE: spec.title,
    OPTIO_REPO_URL: spec.repoUrl,
    OPTIO_REPO_BRANCH: spec.repoBranch,
    OPTIO_BRANCH_NAME: spec.branchName,
    OPTIO_AGENT_TYPE: spec.agentType,
    // Where the agent keeps its sessions: the entrypoint packs them after the agent exits.
    ...(adapter.sessionPaths.length > 0 && { OPTIO_AGENT_SESSION_PATHS: adapter.sessionPaths.join(":") }),
  };

  // An agent reading messages while it runs reads the prompt as the first of them.
  const prompt = command.stdin === "stream" ? adapter.input!.message(spec.prompt) : spec.prompt;
  const files = [
    file("agent-cmd", command.argv.join("\0") + "\0"),
    file("agent-stdin", command.stdin),
    file("prompt", prompt),
  ];
  checkEnv(env); // refused here, before any driver work, not when a container takes its spec
  const secretEntries = Object.entries(spec.secretEnv);
  if (secretEntries.length > 0) files.push(file("agent.env", envFile(spec.secretEnv)));
  if (credential) files.push(file("git-credential", `${credential.username}\n${credential.secret}\n`));
  if (options.sessionArchive) files.push(file(SESSION_IN_FILE, options.sessionArchive));

  const secrets = [...secretEntries.map(([, value]) => value), ...(credential ? [credential.secret] : [])];

  return {
    runId: spec.runId,
    taskId: spec.taskId,
    attempt: spec.attempt,
    runnerId: config.OPTIO_RUNNER_ID,
    image: spec.image ?? config.OPTIO_RUNNER_IMAGE,
    limits: spec.limits ?? {
      memoryMb: config.OPTIO_RUNNER_MEMORY_MB,
      cpus: config.OPTIO_RUNNER_CPUS,
      pids: config.OPTIO_RUNNER_PIDS,
    },
    env,
    files,
    labels: {
      [LABELS.managed]: "true",
      [LABELS.run]: spec.runId,
      [LABELS.task]: spec.taskId,
      [LABELS.attempt]: String(spec.attempt),
      [LABELS.runner]: config.OPTIO_RUNNER_ID,
    },
    secrets: [...new Set(secrets)],
    timeoutMs: spec.timeoutSeconds * 1000,
  };
}
