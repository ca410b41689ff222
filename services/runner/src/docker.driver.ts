// The docker driver: one container per run through dockerode. The ONLY file importing dockerode.
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import type { Logger } from "pino";
import type { RunnerConfig } from "./config";
import { buildContainerSpec } from "./container-spec";
import {
  DriverError,
  type Driver,
  type RunExit,
  type RunHandle,
  type RunningUnit,
  type RunPaths,
} from "./driver";
import { LABELS, type RunPlan } from "./run-plan";
import { tarFiles } from "./tar";

const RUN_DIR = "/run/optio";

interface EngineError {
  statusCode?: number;
  message?: string;
}
const statusOf = (error: unknown) => (error as EngineError)?.statusCode;

/** dockerode options from DOCKER_HOST (unix:// or tcp://) or the socket path. */
export function dockerOptions(config: Pick<RunnerConfig, "DOCKER_HOST" | "DOCKER_SOCKET">): Docker.Options {
  const host = config.DOCKER_HOST;
  if (host?.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  if (host?.startsWith("tcp://")) {
    const url = new URL(host.replace(/^tcp:/, "http:"));
    return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
  }
  return { socketPath: config.DOCKER_SOCKET };
}

export class DockerDriver implements Driver {
  readonly name = "docker" as const;
  readonly isolated = true;
  private readonly docker: Docker;

  constructor(private readonly opts: { config: RunnerConfig; logger: Logger }) {
    this.docker = new Docker(dockerOptions(opts.config));
  }

  paths(): RunPaths {
    return { runDir: RUN_DIR, workspace: "/workspace", env: {} };
  }

  async ping(): Promise<string> {
    return (await this.docker.version()).Version;
  }

  async start(plan: RunPlan): Promise<RunHandle> {
    const spec = buildContainerSpec(plan, this.opts.config);
    const container = await this.create(spec, plan.image);
    try {
      const [uid, gid] = this.opts.config.OPTIO_RUNNER_CONTAINER_USER.split(":").map(Number);
      await container.putArchive(tarFiles("optio", plan.files, uid!, gid ?? uid!), { path: "/run" });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const attached = await container.attach({ stream: true, stdout: true, stderr: true });
      this.docker.modem.demuxStream(attached, stdout, stderr);
      attached.on("end", () => {
        stdout.end();
        stderr.end();
      });
      await container.start();
      return new DockerRunHandle(container, stdout, stderr);
    } catch (error) {
      await container.remove({ force: true }).catch(() => {});
      throw new DriverError("CONTAINER_FAILED", `could not start the container: ${(error as Error).message}`);
    }
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

class DockerRunHandle implements RunHandle {
  private exit: Promise<RunExit> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly container: Docker.Container,
    readonly stdout: PassThrough,
    readonly stderr: PassThrough,
  ) {}

  get id(): string {
    return this.container.id;
  }

  wait(): Promise<RunExit> {
    this.exit ??= (async () => {
      const { StatusCode } = await this.container.wait();
      const info = await this.container.inspect().catch(() => undefined);
      return { exitCode: StatusCode, oomKilled: info?.State.OOMKilled ?? false };
    })();
    return this.exit;
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
  }
}
