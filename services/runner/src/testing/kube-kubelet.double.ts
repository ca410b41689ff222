// TEST ONLY. The kubelet half of the Kubernetes API double: "runs" a Pod's containers as host
// processes, as the local driver does. An image is a registered entrypoint script; volumes are
// per-Pod directories. Mounts under /run are real bind mounts in a private mount namespace
// (`unshare`, needs root, as CI has) over a fresh /run, so paths the runner wrote into files
// (/run/optio/prompt) hold; the workspace is passed as OPTIO_WORKSPACE. Writes the Pod status the
// way the kubelet reports it.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1Container, V1ContainerStatus, V1Pod, V1Secret } from "@kubernetes/client-node";

/** Inside the new mount namespace: a private /run, then `mountPath hostDir` pairs bound, then exec. */
const MOUNT_AND_EXEC = [
  "set -e",
  "mount -t tmpfs -o mode=755 tmpfs /run",
  'while [ "$1" != -- ]; do mkdir -p "$1"; mount --bind "$2" "$1"; shift 2; done',
  "shift",
  'exec "$@"',
].join("\n");

export interface FakeImage {
  /** The image's ENTRYPOINT, a script on this host. */
  entrypoint: string;
}

export interface KubeletHost {
  images: Map<string, FakeImage>;
  secret(namespace: string, name: string): V1Secret | undefined;
  /** The Pod's status changed (the API double bumps resourceVersion and tells watchers). */
  changed(pod: V1Pod): void;
}

/** A running Pod: its process (if any) and its combined log. */
export class PodRun {
  readonly log: Buffer[] = [];
  readonly listeners = new Set<(chunk: Buffer | null) => void>();
  process: ChildProcess | undefined;
  /** Set when the double kills the process for a simulated reason (OOMKilled, Evicted). */
  killReason: { container: string; pod?: string } | undefined;
  logEnded = false;
  private dirs = new Map<string, string>();
  private readonly root = mkdtempSync(path.join(os.tmpdir(), "optio-kubelet-"));

  constructor(
    readonly pod: V1Pod,
    private readonly host: KubeletHost,
  ) {}

  get started(): boolean {
    return this.process !== undefined;
  }

  /** Volume name → host directory; secret volumes are filled from their Secret. */
  private volumeDirs(): Map<string, string> | "secret-missing" {
    const dirs = new Map<string, string>();
    for (const volume of this.pod.spec!.volumes ?? []) {
      const dir = path.join(this.root, "volumes", volume.name);
      mkdirSync(dir, { recursive: true });
      if (volume.secret) {
        const secret = this.host.secret(this.pod.metadata!.namespace!, volume.secret.secretName!);
        if (!secret) return "secret-missing";
        for (const [name, value] of Object.entries(secret.data ?? {})) {
          writeFileSync(path.join(dir, name), Buffer.from(value, "base64"));
          chmodSync(path.join(dir, name), volume.secret.defaultMode ?? 0o644);
        }
      }
      dirs.set(volume.name, dir);
    }
    return dirs;
  }

  private status(patch: Partial<NonNullable<V1Pod["status"]>>): void {
    this.pod.status = { ...this.pod.status, ...patch };
    this.host.changed(this.pod);
  }

  private containerStatus(container: V1Container, state: V1ContainerStatus["state"]): V1ContainerStatus {
    return {
      name: container.name,
      image: container.image!,
      imageID: "",
      ready: !!state?.running,
      restartCount: 0,
      state,
    };
  }

  /** The kubelet's start: mount volumes, pull (or not), init containers, then the main container. */
  async start(): Promise<void> {
    const [main] = this.pod.spec!.containers;
    const waiting = (reason: string, message?: string) =>
      this.status({ containerStatuses: [this.containerStatus(main!, { waiting: { reason, message } })] });
    this.status({
      phase: "Pending",
      containerStatuses: [this.containerStatus(main!, { waiting: { reason: "ContainerCreating" } })],
    });

    let dirs = this.volumeDirs();
    for (let i = 0; dirs === "secret-missing" && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100)); // kubelet retries the mount
      dirs = this.volumeDirs();
    }
    if (dirs === "secret-missing") return waiting("ContainerCreating", "FailedMount: secret not found");
    this.dirs = dirs;

    for (const container of [...(this.pod.spec!.initContainers ?? []), main!]) {
      const image = this.host.images.get(container.image!);
      if (!image) {
        const never = container.imagePullPolicy === "Never";
        const reason = never ? "ErrImageNeverPull" : "ErrImagePull";
        const status = this.containerStatus(container, {
          waiting: { reason, message: `image ${container.image} not found` },
        });
        if (container === main) return this.status({ containerStatuses: [status] });
        return this.status({ initContainerStatuses: [status] });
      }
      const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.mountPath, dirs.get(m.name)!]));
      const child = this.spawn(container, image, mounts, container !== main);
      if (container !== main) {
        const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? 137)));
        const terminated = { exitCode: code, reason: code === 0 ? "Completed" : "Error" };
        this.status({ initContainerStatuses: [this.containerStatus(container, { terminated })] });
        if (code !== 0) return this.status({ phase: "Failed" });
        continue;
      }
      this.process = child;
      this.status({
        phase: "Running",
        containerStatuses: [this.containerStatus(main!, { running: { startedAt: new Date() } })],
      });
      child.once("close", (code, signal) => this.exited(main!, code, signal));
    }
  }

  private spawn(
    container: V1Container,
    image: FakeImage,
    mounts: Map<string, string>,
    quiet: boolean,
  ): ChildProcess {
    const home = path.join(this.root, "home");
    mkdirSync(home, { recursive: true });
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      OPTIO_WORKSPACE: mounts.get("/workspace") ?? path.join(this.root, "ws"),
    };
    for (const { name, value } of container.env ?? []) env[name] = value ?? "";
    const binds = [...mounts].filter(([mountPath]) => mountPath.startsWith("/run/")).flat();
    const argv = container.command ?? ["bash", image.entrypoint];
    const child = spawn(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", MOUNT_AND_EXEC, "sh", ...binds, "--", ...argv],
      {
        cwd: mounts.get(container.workingDir ?? "") ?? this.root,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const emit = (chunk: Buffer) => {
      if (quiet) return;
      this.log.push(chunk);
      for (const listener of this.listeners) listener(chunk);
    };
    child.stdout!.on("data", emit);
    child.stderr!.on("data", emit);
    return child;
  }

  private exited(container: V1Container, code: number | null, signal: NodeJS.Signals | null): void {
    const exitCode = code ?? (signal === "SIGTERM" ? 143 : 137);
    const reason = this.killReason?.container ?? (exitCode === 0 ? "Completed" : "Error");
    this.logEnded = true;
    for (const listener of this.listeners) listener(null);
    this.status({
      phase: exitCode === 0 && !this.killReason ? "Succeeded" : "Failed",
      ...(this.killReason?.pod ? { reason: this.killReason.pod } : {}),
      containerStatuses: [this.containerStatus(container, { terminated: { exitCode, reason } })],
    });
  }

  /**
   * Signals the container's processes. SIGKILL also reaches the agent's own session (optio-run
   * writes its group to agent.pgid), as the end of a container's PID namespace would.
   */
  signal(signal: NodeJS.Signals): void {
    const pid = this.process?.pid;
    if (pid === undefined || this.logEnded) return;
    const groups = [pid];
    if (signal === "SIGKILL")
      for (const dir of this.dirs.values()) {
        const pgid = Number(readFileSafe(path.join(dir, "agent.pgid")));
        if (pgid > 1) groups.push(pgid);
      }
    for (const group of groups)
      try {
        process.kill(-group, signal);
      } catch {
        // already gone
      }
  }

  /** Resolves when the main container has ended (or never started). */
  ended(): Promise<void> {
    if (!this.process || this.logEnded) return Promise.resolve();
    return new Promise((resolve) => this.process!.once("close", () => resolve()));
  }

  cleanup(): void {
    this.signal("SIGKILL");
    rmSync(this.root, { recursive: true, force: true });
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}
