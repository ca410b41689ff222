// TEST ONLY. A stateful Kubernetes API double on 127.0.0.1 for the real @kubernetes/client-node,
// loaded through a kubeconfig file: Secrets and Pods (create, get, list, delete), Pod lists with
// `watch=true` (newline-delimited events), the Pod `log` subresource with `follow=true`, and
// `/version`, in the documented shapes (Status objects for errors). It rejects a Pod spec that
// lacks Optio's hardening (422, as an admission policy would), runs accepted Pods through the
// kubelet double, and can simulate an OOM kill and an eviction.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { PodRun, type FakeImage } from "./kube-kubelet.double";
import { podPolicyViolations } from "./kube-pod-policy";

type Obj = V1Pod | V1Secret;
interface Watcher {
  namespace: string;
  query: URLSearchParams;
  res: http.ServerResponse;
}

const status = (code: number, reason: string, message: string, details?: unknown) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  details,
  code,
});

/** Equality-based label selectors (`a=b,c=d`) and `metadata.name=` field selectors. */
function matches(obj: Obj, query: URLSearchParams): boolean {
  const labels = obj.metadata?.labels ?? {};
  for (const term of (query.get("labelSelector") ?? "").split(",").filter(Boolean)) {
    const [key, value] = term.split("=");
    if (labels[key!] !== value) return false;
  }
  const field = query.get("fieldSelector");
  return !field || field === `metadata.name=${obj.metadata?.name}`;
}

export class KubeApiDouble {
  readonly images = new Map<string, FakeImage>();
  /** Every Pod body submitted, accepted or not, and the policy violations of rejected ones. */
  readonly submitted: V1Pod[] = [];
  readonly rejected: { name: string; violations: string[] }[] = [];
  private readonly secrets = new Map<string, V1Secret>();
  private readonly pods = new Map<string, PodRun>();
  private readonly watchers = new Set<Watcher>();
  private version = 1;
  private server!: http.Server;
  private dir!: string;
  kubeconfigPath!: string;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.dir = mkdtempSync(path.join(os.tmpdir(), "optio-kube-double-"));
    this.kubeconfigPath = path.join(this.dir, "kubeconfig.yaml");
    writeFileSync(
      this.kubeconfigPath,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: double, cluster: {server: 'http://127.0.0.1:" +
          port +
          "', insecure-skip-tls-verify: true}}]",
        "users: [{name: runner, user: {token: double-token}}]",
        "contexts: [{name: double, context: {cluster: double, user: runner, namespace: optio-runs}}]",
        "current-context: double",
      ].join("\n"),
    );
    return this;
  }

  async close(): Promise<void> {
    for (const run of this.pods.values()) run.cleanup();
    for (const watcher of this.watchers) watcher.res.end();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }

  pod(name: string): V1Pod | undefined {
    return [...this.pods.values()].find((run) => run.pod.metadata!.name === name)?.pod;
  }
  secretNames(): string[] {
    return [...this.secrets.values()].map((s) => s.metadata!.name!);
  }

  /** The kernel's OOM killer: SIGKILL, reported as OOMKilled with exit 137. */
  oomKill(name: string): void {
    this.kill(name, { container: "OOMKilled" });
  }
  /** Node pressure eviction: the Pod fails with reason Evicted. */
  evict(name: string): void {
    this.kill(name, { container: "Error", pod: "Evicted" });
  }
  private kill(name: string, reason: PodRun["killReason"]): void {
    const run = [...this.pods.values()].find((r) => r.pod.metadata!.name === name);
    if (!run?.started) throw new Error(`pod ${name} is not running`);
    run.killReason = reason;
    run.signal("SIGKILL");
  }

  private changed(obj: Obj, type = "MODIFIED"): void {
    obj.metadata!.resourceVersion = String(++this.version);
    for (const w of this.watchers)
      if (w.namespace === obj.metadata!.namespace && matches(obj, w.query))
        w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url!, "http://double");
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== "Bearer double-token")
      return send(401, status(401, "Unauthorized", "Unauthorized"));
    if (url.pathname === "/version")
      return send(200, { major: "1", minor: "31", gitVersion: "v1.31.0-double" });

    const match = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets)(?:\/([^/]+))?(?:\/(log))?$/.exec(
      url.pathname,
    );
    if (!match) return send(404, status(404, "NotFound", `the server could not find ${url.pathname}`));
    const [, namespace, kind, name, sub] = match as unknown as [
      string,
      string,
      "pods" | "secrets",
      string?,
      string?,
    ];
    const key = `${namespace}/${name}`;
    const store = kind === "pods" ? this.pods : this.secrets;
    const objectOf = (value: PodRun | V1Secret) => (value instanceof PodRun ? value.pod : value);

    if (req.method === "POST" && !name) {
      const body = JSON.parse(await readBody(req)) as Obj;
      const objName = body.metadata?.name ?? "";
      if (kind === "pods") {
        this.submitted.push(body as V1Pod);
        const violations = podPolicyViolations(body as V1Pod);
        if (violations.length > 0) {
          this.rejected.push({ name: objName, violations });
          return send(422, status(422, "Invalid", `Pod "${objName}" is invalid: ${violations.join("; ")}`));
        }
      }
      if (store.has(`${namespace}/${objName}`))
        return send(409, status(409, "AlreadyExists", `${kind} "${objName}" already exists`));
      body.metadata = {
        ...body.metadata,
        namespace,
        uid: `uid-${this.version}`,
        creationTimestamp: new Date(),
      };
      if (kind === "secrets") {
        this.secrets.set(`${namespace}/${objName}`, body as V1Secret);
        this.changed(body, "ADDED");
      } else {
        const run = new PodRun(body as V1Pod, {
          images: this.images,
          secret: (ns, secretName) => this.secrets.get(`${ns}/${secretName}`),
          changed: (pod) => this.changed(pod),
        });
        this.pods.set(`${namespace}/${objName}`, run);
        this.changed(body, "ADDED");
        void run.start();
      }
      return send(201, body);
    }

    if (req.method === "GET" && !name) {
      const items = [...store.values()]
        .map(objectOf)
        .filter((o) => o.metadata!.namespace === namespace && matches(o, url.searchParams));
      if (url.searchParams.get("watch") !== "true")
        return send(200, {
          kind: kind === "pods" ? "PodList" : "SecretList",
          apiVersion: "v1",
          metadata: { resourceVersion: String(this.version) },
          items,
        });
      res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      for (const object of items) res.write(`${JSON.stringify({ type: "ADDED", object })}\n`);
      const watcher = { namespace, query: url.searchParams, res };
      this.watchers.add(watcher);
      res.on("close", () => this.watchers.delete(watcher));
      return;
    }

    const found = store.get(key);
    if (!found) return send(404, status(404, "NotFound", `${kind} "${name}" not found`));
    if (req.method === "GET" && sub === "log")
      return this.streamLog(found as PodRun, url.searchParams, res, send);
    if (req.method === "GET") return send(200, objectOf(found));
    if (req.method === "DELETE") {
      const object = objectOf(found);
      if (found instanceof PodRun) {
        const requested = url.searchParams.get("gracePeriodSeconds");
        const grace =
          requested !== null ? Number(requested) : (found.pod.spec!.terminationGracePeriodSeconds ?? 30);
        void this.deletePod(key, found, grace);
      } else {
        this.secrets.delete(key);
        this.changed(object, "DELETED");
      }
      return send(200, object);
    }
    send(405, status(405, "MethodNotAllowed", `${req.method} is not allowed`));
  }

  /** Graceful deletion: deletionTimestamp, SIGTERM, SIGKILL after the grace period, then gone. */
  private async deletePod(key: string, run: PodRun, graceSeconds: number): Promise<void> {
    if (run.pod.metadata!.deletionTimestamp) return;
    run.pod.metadata!.deletionTimestamp = new Date();
    run.pod.metadata!.deletionGracePeriodSeconds = graceSeconds;
    this.changed(run.pod);
    run.signal(graceSeconds === 0 ? "SIGKILL" : "SIGTERM");
    const timer = setTimeout(() => run.signal("SIGKILL"), graceSeconds * 1000);
    await run.ended();
    clearTimeout(timer);
    this.pods.delete(key);
    run.cleanup();
    this.changed(run.pod, "DELETED");
  }

  private streamLog(
    run: PodRun,
    query: URLSearchParams,
    res: http.ServerResponse,
    send: (code: number, body: unknown) => void,
  ): void {
    const container = query.get("container");
    const main = run.pod.spec!.containers[0]!.name;
    if (container && container !== main)
      return send(
        400,
        status(400, "BadRequest", `container ${container} is not valid for pod ${run.pod.metadata!.name}`),
      );
    if (!run.started)
      return send(
        400,
        status(
          400,
          "BadRequest",
          `container "${main}" in pod "${run.pod.metadata!.name}" is waiting to start: ContainerCreating`,
        ),
      );
    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    for (const chunk of run.log) res.write(chunk);
    if (query.get("follow") !== "true" || run.logEnded) return void res.end();
    const listener = (chunk: Buffer | null) => (chunk ? res.write(chunk) : res.end());
    run.listeners.add(listener);
    res.on("close", () => run.listeners.delete(listener));
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
