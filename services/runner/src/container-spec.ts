// Pure: the Docker create-container body for a planned run. Unit-tested without an engine.
import type { RunnerConfig } from "./config";
import { CACHE_MOUNT } from "./repo-cache";
import type { RunPlan } from "./run-plan";

/** The subset of Docker's ContainerCreate body Optio sets (field names as in the Engine API). */
export interface ContainerCreateSpec {
  name: string;
  Image: string;
  Env: string[];
  User: string;
  WorkingDir: string;
  Labels: Record<string, string>;
  Tty: false;
  /** The run's files and environment arrive on stdin (see buildContainerSpec). */
  OpenStdin: true;
  StdinOnce: true;
  AttachStdin: true;
  AttachStdout: true;
  AttachStderr: true;
  HostConfig: {
    Memory: number;
    MemorySwap: number;
    NanoCpus: number;
    PidsLimit: number;
    CapDrop: string[];
    CapAdd: string[];
    SecurityOpt: string[];
    Privileged: false;
    NetworkMode: string;
    Binds: string[];
    AutoRemove: false;
    LogConfig: { Type: string; Config: Record<string, string> };
  };
}

/**
 * No capability is added: the entrypoint and git run as an unprivileged user and need none (no
 * chown, no binding low ports, no raw sockets). Kept as a named list so a need is explicit.
 */
export const CAP_ADD: string[] = [];

/** Marks warm-pool containers (with optio.runner: a restarted runner removes them as orphans). */
export const POOL_LABEL = "optio.pool";

export function containerName(plan: Pick<RunPlan, "runId" | "attempt">): string {
  return `optio-run-${plan.runId}-${plan.attempt}`;
}

/**
 * Every container, cold or warm, receives its run's files and plain environment on stdin (see
 * optio-run.sh): nothing of the run is in the engine's config (`docker inspect`), and no archive
 * upload is needed before start (measured: the upload, on a container's first mount, cost more
 * than the rest of a cold start together).
 */
export function buildContainerSpec(plan: RunPlan, config: RunnerConfig): ContainerCreateSpec {
  const memory = plan.limits.memoryMb * 1024 * 1024;
  return {
    name: containerName(plan),
    Image: plan.image,
    Env: ["OPTIO_SPEC_FROM_STDIN=1"],
    User: config.OPTIO_RUNNER_CONTAINER_USER,
    WorkingDir: "/workspace",
    Labels: { ...plan.labels },
    Tty: false,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Memory: memory,
      MemorySwap: memory, // no swap beyond the memory limit
      NanoCpus: Math.round(plan.limits.cpus * 1e9),
      PidsLimit: plan.limits.pids,
      CapDrop: ["ALL"],
      CapAdd: [...CAP_ADD],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      NetworkMode: config.OPTIO_RUNNER_NETWORK,
      // Never the Docker socket; the only host path is this repo's mirror, read-only (credential-free).
      Binds:
        config.OPTIO_RUNNER_REPO_CACHE && plan.repoMirror
          ? [`${config.OPTIO_RUNNER_REPO_CACHE}/${plan.repoMirror}:${CACHE_MOUNT}/${plan.repoMirror}:ro`]
          : [],
      AutoRemove: false, // the runner inspects (OOM) and then removes it
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "1" } },
    },
  };
}

/**
 * A warm-pool container: the same image, user, limits and hardening as a run of the runner's
 * defaults, but no run labels; like every container it waits for its run on stdin, only sooner.
 * It mounts the mirror of the repository it is kept for (if any), as that repository's runs do.
 */
export function buildPoolContainerSpec(
  pool: {
    image: string;
    repoMirror?: string;
    name: string;
    limits: RunPlan["limits"];
    labels: Record<string, string>;
  },
  config: RunnerConfig,
): ContainerCreateSpec {
  const spec = buildContainerSpec(
    {
      runId: "",
      taskId: "",
      attempt: 0,
      runnerId: config.OPTIO_RUNNER_ID,
      image: pool.image,
      limits: pool.limits,
      env: {},
      files: [],
      labels: pool.labels,
      secrets: [],
      timeoutMs: 0,
      repoMirror: pool.repoMirror,
    },
    config,
  );
  return { ...spec, name: pool.name };
}

/** The create body of a workspace snapshot's build (see docker-snapshots.ts). */
export type SnapshotBuildSpec = Omit<
  ContainerCreateSpec,
  "OpenStdin" | "StdinOnce" | "AttachStdin" | "HostConfig"
> & {
  Entrypoint: string[];
  OpenStdin: false;
  StdinOnce: false;
  AttachStdin: false;
  HostConfig: ContainerCreateSpec["HostConfig"] & { CpuShares: number };
};

/**
 * A snapshot's build: the run's image, user, limits and hardening, and its repository's mirror
 * read-only, but no network (the mirror is all it reads), no stdin (no run will come), and the
 * lowest CPU weight (it is background work beside runs). `script` runs with `args`.
 */
export function buildSnapshotBuildSpec(
  build: { image: string; repoMirror: string; name: string; labels: Record<string, string> },
  limits: RunPlan["limits"],
  script: string,
  args: string[],
  config: RunnerConfig,
): SnapshotBuildSpec {
  const pool = buildPoolContainerSpec({ ...build, limits }, config);
  return {
    ...pool,
    Entrypoint: ["/bin/sh", "-c", script, "optio-snapshot", ...args],
    OpenStdin: false,
    StdinOnce: false,
    AttachStdin: false,
    HostConfig: { ...pool.HostConfig, NetworkMode: "none", CpuShares: 2 },
  };
}
