// The docker driver: one container per run through dockerode (which only it, docker-engine.ts and
// docker-snapshots.ts import). Every container is started waiting for its run's spec on stdin. With
// OPTIO_RUNNER_WARM_POOL, a run of the default limits takes one started ahead of time (warm-pool.ts
// keeps them); any other run starts a cold one and hands it its spec at once. Pool containers are
// made for one image and one repo mirror (a mount cannot be added later), so the pool follows the
// repository the runner last served. With the repo cache, a run whose repository has a workspace
// snapshot (workspace-snapshots.ts) is made from it, and so are the pool's containers for it.
import { randomUUID } from "node:crypto";
import { PassThrough, type Duplex } from "node:stream";
import Docker from "dockerode";
import type { Logger } from "pino";
import type { RunnerConfig } from "./config";
import type { WarmPool as WarmPoolStats } from "@optio/contracts";
import { buildContainerSpec, buildPoolContainerSpec, POOL_LABEL } from "./container-spec";
import {
  DriverError,
  type Driver,
  type RunExit,
  type RunHandle,
  type RunningUnit,
  type RunPaths,
} from "./driver";
import { envFile, LABELS, type RunFile, type RunPlan } from "./run-plan";
import { firstTarFile, tarFiles } from "./tar";
import { CACHE_MOUNT, RepoCache } from "./repo-cache";
import { WarmPool, type WarmUnit } from "./warm-pool";
import { connectDocker, statusOf } from "./docker-engine";
import { DockerSnapshots } from "./docker-snapshots";
import { WorkspaceSnapshots, type SnapshotTarget } from "./workspace-snapshots";

const RUN_DIR = "/run/optio";
/** How often a running container's state is read besides the engine's wait. */
const EXIT_POLL_MS = 2_000;
/** How long the engine may not answer before a run is given up as failed. */
const ENGINE_LOST_MS = 60_000;
/**
 * A taken pool unit is replaced this long after: creating a container keeps dockerd, containerd and
 * runc busy for ~300 ms, which on a small machine slowed the start of the very run that took the unit.
 */
const POOL_REFILL_DELAY_MS = 250;

/** What a pool container is made for; the pool compares these as one key. */
interface PoolTarget {
  image: string;
  repoMirror?: string;
}
const poolTarget = (image: string, repoMirror?: string): string => JSON.stringify({ image, repoMirror });
const parsePoolTarget = (target: string): PoolTarget => JSON.parse(target) as PoolTarget;

export class DockerDriver implements Driver {
  readonly name = "docker" as const;
  readonly isolated = true;
  private readonly docker: Docker;
  private readonly pool: WarmPool<WaitingContainer> | undefined;
  private readonly cache: RepoCache | undefined;
  private readonly snapshots: WorkspaceSnapshots | undefined;

  constructor(private readonly opts: { config: RunnerConfig; logger: Logger }) {
    this.docker = connectDocker(opts.config);
    const { config } = opts;
    if (config.OPTIO_RUNNER_REPO_CACHE)
      this.cache = new RepoCache({ dir: config.OPTIO_RUNNER_REPO_CACHE, logger: opts.logger });
    if (this.cache && config.OPTIO_RUNNER_WORKSPACE_SNAPSHOTS)
      this.snapshots = new WorkspaceSnapshots({
        engine: new DockerSnapshots({
          docker: this.docker,
          config,
          dest: `${this.paths().workspace}/repo`,
          limits: this.defaultLimits,
        }),
        mirrors: this.cache,
        logger: opts.logger,
        minAgeMs: config.OPTIO_RUNNER_WORKSPACE_SNAPSHOT_MIN_AGE_S * 1000,
        max: config.OPTIO_RUNNER_WORKSPACE_SNAPSHOTS_MAX,
      });
    if (config.OPTIO_RUNNER_WARM_POOL > 0)
      this.pool = new WarmPool({
        size: config.OPTIO_RUNNER_WARM_POOL,
        target: poolTarget(config.OPTIO_RUNNER_IMAGE),
        create: (target) => this.createWarm(parsePoolTarget(target)),
        logger: opts.logger,
        refillDelayMs: POOL_REFILL_DELAY_MS,
      });
  }

  private get defaultLimits(): RunPlan["limits"] {
    const { config } = this.opts;
    return {
      memoryMb: config.OPTIO_RUNNER_MEMORY_MB,
      cpus: config.OPTIO_RUNNER_CPUS,
      pids: config.OPTIO_RUNNER_PIDS,
    };
  }

  private get owner(): [number, number] {
    const [uid, gid] = this.opts.config.OPTIO_RUNNER_CONTAINER_USER.split(":").map(Number);
    return [uid!, gid ?? uid!];
  }

  warm(): void {
    this.pool?.refill();
  }

  poolStats(): WarmPoolStats | undefined {
    return this.pool?.stats();
  }

  /** Resolves when no workspace snapshot is being made (for tests and benchmarks). */
  snapshotsSettled(): Promise<void> {
    return this.snapshots?.settled() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.snapshots?.close(); // before the cache: a build holds its mirror
    await Promise.all([this.pool?.close(), this.cache?.close()]);
  }

  /** A pool container: created, attached (stdin too) and started; it waits for its spec. */
  private async createWarm({ image, repoMirror }: PoolTarget): Promise<WaitingContainer> {
    const { config } = this.opts;
    const spec = buildPoolContainerSpec(
      {
        image,
        repoMirror,
        name: `optio-pool-${config.OPTIO_RUNNER_ID}-${randomUUID().slice(0, 8)}`,
        limits: this.defaultLimits,
        labels: { [LABELS.managed]: "true", [LABELS.runner]: config.OPTIO_RUNNER_ID, [POOL_LABEL]: "true" },
      },
      config,
    );
    const container = await this.docker.createContainer(spec);
    try {
      return await this.startWaiting(container);
    } catch (error) {
      await container.remove({ force: true }).catch(() => {});
      throw error;
    }
  }

  /** Attaches (stdin too) and starts a created container: it then waits for its run on stdin. */
  private async startWaiting(container: Docker.Container): Promise<WaitingContainer> {
    // hijack: the connection is also the container's stdin (a field the typings lack).
    const attach = { stream: true, hijack: true, stdin: true, stdout: true, stderr: true };
    const stream = (await container.attach(attach)) as Duplex;
    const output = this.demux(stream);
    await container.start();
    return new WaitingContainer(container, stream, output, this.owner);
  }

  private demux(stream: NodeJS.ReadableStream): { stdout: PassThrough; stderr: PassThrough } {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    stream.on("end", () => {
      stdout.end();
      stderr.end();
    });
    return { stdout, stderr };
  }

  /**
   * Brings the repo's mirror up to date, mounts it (alone) and names it to the entrypoint; the run
   * holds the mirror until `release` (once its container is gone).
   */
  private async withCache(plan: RunPlan): Promise<{ plan: RunPlan; release: () => void }> {
    const { OPTIO_REPO_URL: repoUrl, OPTIO_REPO_BRANCH: branch } = plan.env;
    const hold = this.cache && repoUrl && branch ? await this.cache.prepare(repoUrl, branch) : null;
    if (!hold) return { plan, release: () => {} };
    return {
      plan: {
        ...plan,
        repoMirror: hold.name,
        env: { ...plan.env, OPTIO_REPO_REFERENCE: `${CACHE_MOUNT}/${hold.name}` },
      },
      release: hold.release,
    };
  }

  private fitsPool(plan: RunPlan): boolean {
    const limits = this.defaultLimits;
    return (
      plan.limits.memoryMb === limits.memoryMb &&
      plan.limits.cpus === limits.cpus &&
      plan.limits.pids === limits.pids
    );
  }

  paths(): RunPaths {
    return { runDir: RUN_DIR, workspace: "/workspace", env: {} };
  }

  async ping(): Promise<string> {
    return (await this.docker.version()).Version;
  }

  async start(planned: RunPlan): Promise<RunHandle> {
    const { plan, release: releaseMirror } = await this.withCache(planned);
    // Once the run's container is gone: a new snapshot for the repository's next runs if its branch
    // moved, made then so that its build does not compete with this run's start.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      releaseMirror();
      const target = snapshotTarget(plan);
      if (target) this.snapshots?.refresh(target);
    };
    try {
      return await this.startWith(plan, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The run as created from its repository's workspace snapshot, or null when it has none. */
  private async fromSnapshot(plan: RunPlan): Promise<RunPlan | null> {
    const target = snapshotTarget(plan);
    if (!this.snapshots || !target) return null;
    const image = await this.snapshots.imageFor(target).catch((error: unknown) => {
      this.opts.logger.warn({ err: error }, "workspace snapshots unavailable");
      return null;
    });
    return image ? { ...plan, image, env: { ...plan.env, OPTIO_WORKSPACE_SNAPSHOT: "1" } } : null;
  }

  private async startWith(plan: RunPlan, release: () => void): Promise<RunHandle> {
    // Warm or cold, a run of a repository with a workspace snapshot is made from it.
    const snapshotted = (await this.fromSnapshot(plan)) ?? plan;
    const warm =
      this.pool && this.fitsPool(plan)
        ? this.pool.take(poolTarget(snapshotted.image, snapshotted.repoMirror))
        : null;
    if (warm) {
      try {
        return await warm.assign(snapshotted, release);
      } catch (error) {
        this.opts.logger.warn({ err: error, unit: warm.id }, "warm container failed; starting a cold one");
        await warm.remove().catch(() => {});
      }
    }
    const { container, plan: created } = await this.createCold(snapshotted, plan);
    try {
      return await (await this.startWaiting(container)).assign(created, release);
    } catch (error) {
      await container.remove({ force: true }).catch(() => {});
      throw new DriverError("CONTAINER_FAILED", `could not start the container: ${(error as Error).message}`);
    }
  }

  /**
   * From the snapshot if the run has one (and it is still there), else from the run's image; the
   * plan the container was made for (the entrypoint learns of the snapshot from its env).
   */
  private async createCold(
    snapshotted: RunPlan,
    plan: RunPlan,
  ): Promise<{ container: Docker.Container; plan: RunPlan }> {
    if (snapshotted !== plan) {
      try {
        const spec = buildContainerSpec(snapshotted, this.opts.config);
        return { container: await this.docker.createContainer(spec), plan: snapshotted };
      } catch (error) {
        this.opts.logger.warn({ err: error }, "workspace snapshot unusable; creating from the run's image");
      }
    }
    return { container: await this.create(buildContainerSpec(plan, this.opts.config), plan.image), plan };
  }

  private async create(
    spec: ReturnType<typeof buildContainerSpec>,
    image: string,
  ): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(spec);
    } catch (error) {
      if (statusOf(error) === 409)
        throw new DriverError("CONTAINER_FAILED", `container ${spec.name} already exists`);
      if (statusOf(error) !== 404) throw new DriverError("CONTAINER_FAILED", (error as Error).message);
    }
    if (this.opts.config.OPTIO_RUNNER_PULL === "never")
      throw new DriverError("IMAGE_NOT_FOUND", `image ${image} is not present and pulling is disabled`);
    this.opts.logger.info({ image }, "pulling image");
    try {
      const progress = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(progress, (error) => (error ? reject(error) : resolve())),
      );
      return await this.docker.createContainer(spec);
    } catch (error) {
      throw new DriverError(
        "IMAGE_NOT_FOUND",
        `image ${image} could not be pulled: ${(error as Error).message}`,
      );
    }
  }

  async list(): Promise<RunningUnit[]> {
    const filters = JSON.stringify({ label: [`${LABELS.runner}=${this.opts.config.OPTIO_RUNNER_ID}`] });
    const containers = await this.docker.listContainers({ all: true, filters });
    return containers.map((c) => ({
      id: c.Id,
      runId: c.Labels[LABELS.run] ?? null,
      taskId: c.Labels[LABELS.task] ?? null,
      attempt: c.Labels[LABELS.attempt] ? Number(c.Labels[LABELS.attempt]) : null,
      running: c.State === "running",
    }));
  }

  async remove(id: string): Promise<void> {
    await this.docker
      .getContainer(id)
      .remove({ force: true })
      .catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
  }
}

/** A run's snapshot target: its image, and the branch it starts from in its mirror (if it has one). */
function snapshotTarget(plan: RunPlan): SnapshotTarget | null {
  const branch = plan.env.OPTIO_REPO_BRANCH;
  return plan.repoMirror && branch ? { mirror: plan.repoMirror, branch, image: plan.image } : null;
}

class DockerRunHandle implements RunHandle {
  private exit: Promise<RunExit> | undefined;
  private stopping: Promise<void> | undefined;
  private inputEnded = false;

  constructor(
    private readonly container: Docker.Container,
    readonly stdout: PassThrough,
    readonly stderr: PassThrough,
    /** Once the container is gone (the run's hold on its repository's mirror). */
    private readonly onRemoved: () => void,
    /** The attach connection: the container's stdin, past the spec. */
    private readonly stdin: Duplex,
  ) {}

  write(data: string): Promise<void> {
    if (this.inputEnded) return Promise.reject(new Error("the run's input is closed"));
    return new Promise<void>((resolve, reject) =>
      this.stdin.write(data, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** Half-closes the connection: the engine closes the container's stdin (StdinOnce), output goes on. */
  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.stdin.end();
  }

  get id(): string {
    return this.container.id;
  }

  /**
   * The engine's wait, backed by polling: a wait whose connection dies after its response began
   * (an engine restart) never settles, so the container's state is also read every few seconds.
   * An engine unreachable for ENGINE_LOST_MS ends the wait with an error (the run failed).
   */
  wait(): Promise<RunExit> {
    this.exit ??= (async () => {
      const settled = { done: false };
      const engineWait = (async () => {
        const { StatusCode } = await this.container.wait();
        const info = await this.container.inspect().catch(() => undefined);
        return { exitCode: StatusCode, oomKilled: info?.State.OOMKilled ?? false };
      })();
      try {
        return await Promise.race([engineWait, this.pollExit(settled)]);
      } finally {
        settled.done = true;
      }
    })();
    return this.exit;
  }

  private async pollExit(settled: { done: boolean }): Promise<RunExit> {
    let unreachableSince: number | null = null;
    while (!settled.done) {
      await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
      if (settled.done) break;
      try {
        const { State } = await this.container.inspect();
        unreachableSince = null;
        if (!State.Running) return { exitCode: State.ExitCode, oomKilled: State.OOMKilled };
      } catch (error) {
        if (statusOf(error) === 404) return { exitCode: null, oomKilled: false };
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > ENGINE_LOST_MS)
          throw new DriverError("CONTAINER_FAILED", "the Docker engine stopped answering");
      }
    }
    return new Promise<RunExit>(() => {}); // the engine's wait settled first
  }

  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      const exited = this.wait().then(() => undefined);
      await this.container.kill({ signal: "SIGTERM" }).catch(() => {});
      const timer = setTimeout(
        () => void this.container.kill({ signal: "SIGKILL" }).catch(() => {}),
        graceMs,
      );
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.stopping;
  }

  async dispose(): Promise<void> {
    await this.container.remove({ force: true }).catch((error: unknown) => {
      if (statusOf(error) !== 404) throw error;
    });
    this.onRemoved();
  }

  async readRunFile(name: string, maxBytes: number): Promise<Buffer | null> {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await this.container.getArchive({ path: `${RUN_DIR}/${name}` });
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of archive as AsyncIterable<Buffer>) {
      size += chunk.length;
      // The tar around the file adds a few blocks.
      if (size > maxBytes + 4096) {
        (archive as unknown as { destroy?: () => void }).destroy?.();
        return null;
      }
      chunks.push(chunk);
    }
    return firstTarFile(Buffer.concat(chunks));
  }
}

/** A started container waiting on stdin for one run's files (see optio-run.sh). */
class WaitingContainer implements WarmUnit {
  constructor(
    private readonly container: Docker.Container,
    private readonly stdin: Duplex,
    private readonly output: { stdout: PassThrough; stderr: PassThrough },
    private readonly owner: [number, number],
  ) {}

  get id(): string {
    return this.container.id;
  }

  /**
   * Sends the run's files and plain environment (run.env); the entrypoint goes on from there.
   * `onRemoved`: called once the run's container is removed.
   */
  async assign(plan: RunPlan, onRemoved: () => void): Promise<RunHandle> {
    const files: RunFile[] = [...plan.files, { name: "run.env", content: envFile(plan.env), mode: 0o400 }];
    const archive = tarFiles("optio", files, ...this.owner);
    // Raw bytes: the attached stdin is no terminal, so nothing on the way rewrites them.
    const payload = Buffer.concat([Buffer.from(`${archive.length}\n`), archive]);
    await new Promise<void>((resolve, reject) =>
      this.stdin.write(payload, (error) => (error ? reject(error) : resolve())),
    );
    return new DockerRunHandle(this.container, this.output.stdout, this.output.stderr, onRemoved, this.stdin);
  }

  async remove(): Promise<void> {
    this.stdin.destroy();
    await this.container.remove({ force: true }).catch((error: unknown) => {
      if (statusOf(error) !== 404) throw error;
    });
  }
}
