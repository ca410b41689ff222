// The kubernetes driver: one Pod per run in a configured namespace, through @kubernetes/client-node.
// The ONLY file importing the client library at run time. What the Pod looks like is decided in
// pod-spec.ts, what its status means in pod-state.ts; this file does the API calls.
import { PassThrough, Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { RunnerConfig } from "./config";
import {
  DriverError,
  type Driver,
  type RunExit,
  type RunHandle,
  type RunningUnit,
  type RunPaths,
} from "./driver";
import {
  AGENT_CONTAINER,
  buildRunPod,
  buildRunSecret,
  podName,
  POD_RUN_DIR,
  POD_WORKSPACE,
} from "./pod-spec";
import { podState, type PodState } from "./pod-state";
import { LABELS, type RunPlan } from "./run-plan";

/** How long the log stream may lag behind the Pod's exit before it is cut. */
const LOG_DRAIN_MS = 5000;
const REWATCH_MS = 1000;

const statusOf = (error: unknown) => (error as { code?: number })?.code;
const ignoreNotFound = (error: unknown) => {
  if (statusOf(error) !== 404) throw error;
};

/** The kubeconfig: the configured file, else the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(
  config: Pick<RunnerConfig, "OPTIO_RUNNER_KUBECONFIG" | "OPTIO_RUNNER_KUBE_CONTEXT">,
): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (config.OPTIO_RUNNER_KUBECONFIG) kc.loadFromFile(config.OPTIO_RUNNER_KUBECONFIG);
  else kc.loadFromDefault();
  if (config.OPTIO_RUNNER_KUBE_CONTEXT) kc.setCurrentContext(config.OPTIO_RUNNER_KUBE_CONTEXT);
  return kc;
}

export class KubernetesDriver implements Driver {
  readonly name = "kubernetes" as const;
  readonly isolated = true;
  private readonly kc: k8s.KubeConfig;
  private readonly core: k8s.CoreV1Api;
  readonly namespace: string;

  constructor(private readonly opts: { config: RunnerConfig; logger: Logger; kubeConfig?: k8s.KubeConfig }) {
    this.kc = opts.kubeConfig ?? loadKubeConfig(opts.config);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.namespace = opts.config.OPTIO_RUNNER_KUBE_NAMESPACE;
  }

  paths(): RunPaths {
    return { runDir: POD_RUN_DIR, workspace: POD_WORKSPACE, env: {} };
  }

  /** The API server's version: proves the kubeconfig and the credentials at boot. */
  async ping(): Promise<string> {
    return (await this.kc.makeApiClient(k8s.VersionApi).getCode()).gitVersion;
  }

  async start(plan: RunPlan): Promise<RunHandle> {
    const { config } = this.opts;
    const name = podName(plan);
    const namespace = this.namespace;
    try {
      await this.core.createNamespacedSecret({ namespace, body: buildRunSecret(plan, config) });
      await this.core.createNamespacedPod({ namespace, body: buildRunPod(plan, config) });
    } catch (error) {
      if (statusOf(error) !== 409) await this.remove(name).catch(() => {});
      throw new DriverError(
        "CONTAINER_FAILED",
        statusOf(error) === 409
          ? `pod ${name} already exists`
          : `could not create pod ${name}: ${messageOf(error)}`,
      );
    }
    const watcher = new PodWatcher(this.kc, this.core, namespace, name, this.opts.logger);
    const first = await watcher.started(config.OPTIO_RUNNER_KUBE_START_TIMEOUT_MS);
    if (first.kind === "failed") {
      watcher.close();
      await this.remove(name).catch(() => {});
      throw new DriverError(first.code, `pod ${name} did not start: ${first.message}`);
    }
    const handle = new KubernetesRunHandle(this, watcher, name);
    await handle.followLogs(new k8s.Log(this.kc));
    return handle;
  }

  async list(): Promise<RunningUnit[]> {
    const namespace = this.namespace;
    const labelSelector = `${LABELS.runner}=${this.opts.config.OPTIO_RUNNER_ID}`;
    const [pods, secrets] = await Promise.all([
      this.core.listNamespacedPod({ namespace, labelSelector }),
      this.core.listNamespacedSecret({ namespace, labelSelector }),
    ]);
    const units = new Map<string, RunningUnit>();
    // A Secret without its Pod is left by a runner that died between the two creates.
    for (const item of [...secrets.items, ...pods.items]) {
      const labels = item.metadata?.labels ?? {};
      const phase = (item as k8s.V1Pod).status?.phase;
      units.set(item.metadata!.name!, {
        id: item.metadata!.name!,
        runId: labels[LABELS.run] ?? null,
        taskId: labels[LABELS.task] ?? null,
        attempt: labels[LABELS.attempt] ? Number(labels[LABELS.attempt]) : null,
        running: phase === "Pending" || phase === "Running",
      });
    }
    return [...units.values()];
  }

  /** Deletes the Pod at once (grace 0) and its Secret. */
  async remove(id: string): Promise<void> {
    await this.deletePod(id, 0);
    await this.core.deleteNamespacedSecret({ name: id, namespace: this.namespace }).catch(ignoreNotFound);
  }

  /** The kubelet sends SIGTERM, then SIGKILL after the grace period. */
  async deletePod(name: string, graceSeconds: number): Promise<void> {
    await this.core
      .deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: graceSeconds })
      .catch(ignoreNotFound);
  }
}

const messageOf = (error: unknown) => {
  const body = (error as { body?: unknown }).body;
  const parsed = typeof body === "string" ? safeJson(body) : body;
  return (parsed as { message?: string })?.message ?? (error as Error).message;
};
const safeJson = (text: string) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/** Follows one Pod through a watch (re-established when the server closes it) to its end. */
class PodWatcher {
  private latest: PodState = { kind: "pending" };
  private waiters: (() => void)[] = [];
  private controller: AbortController | undefined;
  private closed = false;
  private ended: RunExit | undefined;
  readonly exited: Promise<RunExit>;
  private resolveExit!: (exit: RunExit) => void;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly core: k8s.CoreV1Api,
    private readonly namespace: string,
    private readonly name: string,
    private readonly logger: Logger,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    void this.watch();
  }

  private update(state: PodState): void {
    this.latest = state;
    if (state.kind === "exited") this.finish(state.exit);
    for (const wake of this.waiters.splice(0)) wake();
  }

  private finish(exit: RunExit): void {
    if (this.ended) return;
    this.ended = exit;
    this.resolveExit(exit);
    this.close();
  }

  private async watch(): Promise<void> {
    if (this.closed) return;
    const path = `/api/v1/namespaces/${this.namespace}/pods`;
    const query = { fieldSelector: `metadata.name=${this.name}` };
    this.controller = await new k8s.Watch(this.kc).watch(
      path,
      query,
      (type, pod: k8s.V1Pod) => {
        if (type === "DELETED") {
          const state = podState(pod);
          this.finish(state.kind === "exited" ? state.exit : { exitCode: null, oomKilled: false });
          for (const wake of this.waiters.splice(0)) wake();
        } else if (type === "ADDED" || type === "MODIFIED") this.update(podState(pod));
      },
      (error: unknown) => {
        if (this.closed) return;
        if (error) this.logger.warn({ err: error, pod: this.name }, "pod watch ended; watching again");
        setTimeout(() => void this.resync(), REWATCH_MS).unref();
      },
    );
  }

  /** After a lost watch: the Pod's current state (gone = ended), then a new watch. */
  private async resync(): Promise<void> {
    if (this.closed) return;
    try {
      this.update(
        podState(await this.core.readNamespacedPod({ name: this.name, namespace: this.namespace })),
      );
    } catch (error) {
      if (statusOf(error) === 404) return this.finish({ exitCode: null, oomKilled: false });
    }
    await this.watch();
  }

  /** Resolves once the agent container runs or ran, or the Pod cannot start; fails after timeoutMs. */
  async started(timeoutMs: number): Promise<PodState> {
    const deadline = Date.now() + timeoutMs;
    while (this.latest.kind === "pending" && !this.ended) {
      const left = deadline - Date.now();
      if (left <= 0)
        return { kind: "failed", code: "CONTAINER_FAILED", message: `not running after ${timeoutMs} ms` };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.ended && this.latest.kind === "pending"
      ? { kind: "failed", code: "CONTAINER_FAILED", message: "the pod was deleted before it started" }
      : this.latest;
  }

  close(): void {
    this.closed = true;
    this.controller?.abort();
  }
}

/**
 * The Pod log API gives one stream: the entrypoint's own messages (prefixed "[optio] ") go to
 * stderr, everything else to stdout, which is how the Docker driver's streams divide them.
 */
class LogDemux extends Writable {
  private pending = "";
  constructor(
    private readonly stdout: PassThrough,
    private readonly stderr: PassThrough,
  ) {
    super({ decodeStrings: false });
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, callback: () => void): void {
    const lines = (this.pending + chunk.toString()).split("\n");
    this.pending = lines.pop()!;
    for (const line of lines) (line.startsWith("[optio] ") ? this.stderr : this.stdout).write(`${line}\n`);
    callback();
  }
  override _final(callback: () => void): void {
    if (this.pending) (this.pending.startsWith("[optio] ") ? this.stderr : this.stdout).write(this.pending);
    this.stdout.end();
    this.stderr.end();
    callback();
  }
}

class KubernetesRunHandle implements RunHandle {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  private logs: AbortController | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly driver: KubernetesDriver,
    private readonly watcher: PodWatcher,
    readonly id: string,
  ) {}

  async followLogs(log: k8s.Log): Promise<void> {
    const sink = new LogDemux(this.stdout, this.stderr);
    const cut = () => {
      this.logs?.abort();
      if (!sink.writableEnded) sink.end();
    };
    try {
      this.logs = await log.log(this.driver.namespace, this.id, AGENT_CONTAINER, sink, { follow: true });
    } catch (error) {
      this.stderr.write(`[optio] the pod's log could not be read: ${messageOf(error)}\n`);
      cut();
      return;
    }
    // A follow stream the server never closes must not hold the run open after the Pod ended.
    void this.watcher.exited.then(() => setTimeout(cut, LOG_DRAIN_MS).unref());
  }

  wait(): Promise<RunExit> {
    return this.watcher.exited;
  }

  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      await this.driver.deletePod(this.id, Math.ceil(graceMs / 1000));
      await this.watcher.exited;
    })();
    return this.stopping;
  }

  async dispose(): Promise<void> {
    this.watcher.close();
    this.logs?.abort();
    await this.driver.remove(this.id);
  }
}
