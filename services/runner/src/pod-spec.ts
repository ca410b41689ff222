// Pure: the Kubernetes objects for a planned run (a Secret with the run's input files and a Pod),
// the same hardening as the Docker container spec expressed as a Pod spec. Unit-tested without a
// cluster; the only runtime import from the client library is in kubernetes.driver.ts.
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import type { RunnerConfig } from "./config";
import { containerName } from "./container-spec";
import type { RunPlan } from "./run-plan";

export const AGENT_CONTAINER = "agent";
/** Where the Secret is mounted: only in the init container, which copies it into the run dir. */
const INPUT_DIR = "/run/optio-input";
export const POD_RUN_DIR = "/run/optio";
export const POD_WORKSPACE = "/workspace";

/** Pod and Secret share one name: the container name the Docker driver uses (a DNS label). */
export const podName = containerName;

type KubeConfigFields = Pick<
  RunnerConfig,
  | "OPTIO_RUNNER_KUBE_NAMESPACE"
  | "OPTIO_RUNNER_KUBE_RUNTIME_CLASS"
  | "OPTIO_RUNNER_KUBE_PULL_SECRETS"
  | "OPTIO_RUNNER_CONTAINER_USER"
  | "OPTIO_RUNNER_NETWORK"
  | "OPTIO_RUNNER_PULL"
  | "OPTIO_RUNNER_STOP_GRACE_MS"
>;

/** The run's input files (argv, prompt, secret env, git credential) as a Secret, never in the Pod. */
export function buildRunSecret(plan: RunPlan, config: KubeConfigFields): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: podName(plan),
      namespace: config.OPTIO_RUNNER_KUBE_NAMESPACE,
      labels: { ...plan.labels },
    },
    type: "Opaque",
    data: Object.fromEntries(plan.files.map((f) => [f.name, f.content.toString("base64")])),
  };
}

const quantity = {
  cpu: (cpus: number) => `${Math.max(1, Math.round(cpus * 1000))}m`,
  memory: (mb: number) => `${mb}Mi`,
};

export function buildRunPod(plan: RunPlan, config: KubeConfigFields): V1Pod {
  const [uid, gid] = config.OPTIO_RUNNER_CONTAINER_USER.split(":").map(Number) as [number, number?];
  const group = gid ?? uid;
  const name = podName(plan);
  // Requests = limits: the Guaranteed QoS class, so a run is the last thing evicted under pressure.
  const limits = { cpu: quantity.cpu(plan.limits.cpus), memory: quantity.memory(plan.limits.memoryMb) };
  // A fresh object per container: a shared one would alias in the serialised Pod's consumers.
  const containerSecurity = () => ({
    allowPrivilegeEscalation: false,
    privileged: false,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  });
  const graceSeconds = Math.ceil(config.OPTIO_RUNNER_STOP_GRACE_MS / 1000);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: config.OPTIO_RUNNER_KUBE_NAMESPACE, labels: { ...plan.labels } },
    spec: {
      restartPolicy: "Never", // Optio owns retries: a failed run is a new attempt, not a restart
      automountServiceAccountToken: false,
      enableServiceLinks: false, // no other services' addresses in the agent's environment
      hostNetwork: config.OPTIO_RUNNER_NETWORK === "host" ? true : undefined,
      runtimeClassName: config.OPTIO_RUNNER_KUBE_RUNTIME_CLASS,
      terminationGracePeriodSeconds: graceSeconds,
      // The engine's own back-stop when no runner is left to stop the run.
      activeDeadlineSeconds: Math.ceil(plan.timeoutMs / 1000) + graceSeconds + 60,
      imagePullSecrets: config.OPTIO_RUNNER_KUBE_PULL_SECRETS.length
        ? config.OPTIO_RUNNER_KUBE_PULL_SECRETS.map((secret) => ({ name: secret }))
        : undefined,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: group,
        fsGroup: group,
        seccompProfile: { type: "RuntimeDefault" },
      },
      volumes: [
        { name: "input", secret: { secretName: name, defaultMode: 0o440 } },
        { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
        { name: "workspace", emptyDir: {} },
      ],
      // The entrypoint deletes the secret files once read; a Secret volume is read-only, so the
      // files are copied into a writable in-memory directory that the agent container alone sees.
      initContainers: [
        {
          name: "input",
          image: plan.image,
          imagePullPolicy: config.OPTIO_RUNNER_PULL === "never" ? "Never" : "IfNotPresent",
          command: ["/bin/sh", "-c", `cp ${INPUT_DIR}/* ${POD_RUN_DIR}/`],
          securityContext: containerSecurity(),
          resources: { requests: limits, limits },
          volumeMounts: [
            { name: "input", mountPath: INPUT_DIR, readOnly: true },
            { name: "run", mountPath: POD_RUN_DIR },
          ],
        },
      ],
      containers: [
        {
          name: AGENT_CONTAINER,
          image: plan.image,
          imagePullPolicy: config.OPTIO_RUNNER_PULL === "never" ? "Never" : "IfNotPresent",
          env: Object.entries(plan.env).map(([key, value]) => ({ name: key, value })),
          workingDir: POD_WORKSPACE,
          securityContext: containerSecurity(),
          resources: { requests: limits, limits },
          volumeMounts: [
            { name: "run", mountPath: POD_RUN_DIR },
            { name: "workspace", mountPath: POD_WORKSPACE },
          ],
        },
      ],
    },
  };
}
