import type { V1Pod } from "@kubernetes/client-node";
import { buildRunPod, buildRunSecret, podName } from "./pod-spec";
import { podState } from "./pod-state";
import { planRun } from "./run-plan";
import { podPolicyViolations } from "./testing/kube-pod-policy";
import { runSpec, testConfig, testSecret } from "./testing/fixtures";

const paths = { runDir: "/run/optio", workspace: "/workspace", env: {} };

function plan(env: Record<string, string> = {}) {
  const config = testConfig({ OPTIO_RUNNER_DRIVER: "kubernetes", ...env });
  const secret = testSecret("ghs_");
  const spec = runSpec({
    limits: { memoryMb: 512, cpus: 1.5, pids: 128 },
    image: "optio/agent:1",
    timeoutSeconds: 600,
    gitCredential: { source: "inline", username: "bot", secret },
  });
  return { config, spec, secret, plan: planRun(spec, { config, paths, gitCredentials: {} }) };
}

describe("buildRunPod", () => {
  it("expresses the Docker hardening as a Pod spec that passes the restricted policy", () => {
    const { config, spec, plan: p } = plan();
    const pod = buildRunPod(p, config);
    expect(pod.metadata).toMatchObject({
      name: `optio-run-${spec.runId}-1`,
      namespace: "optio-runs",
      labels: { "optio.run": spec.runId, "optio.task": spec.taskId, "optio.runner": "test-runner" },
    });
    expect(pod.spec).toMatchObject({
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 10,
      activeDeadlineSeconds: 600 + 10 + 60,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: "RuntimeDefault" },
      },
    });
    expect(pod.spec!.hostNetwork).toBeUndefined();
    expect(pod.spec!.runtimeClassName).toBeUndefined();
    for (const container of [...pod.spec!.initContainers!, ...pod.spec!.containers]) {
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        privileged: false,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(container.resources).toEqual({
        requests: { cpu: "1500m", memory: "512Mi" },
        limits: { cpu: "1500m", memory: "512Mi" },
      });
      expect(container.imagePullPolicy).toBe("Never");
    }
    expect(podPolicyViolations(pod)).toEqual([]);
  });

  it("keeps secrets out of the Pod: the input files travel in the Secret, mounted in the init container only", () => {
    const { config, plan: p, secret } = plan();
    const pod = buildRunPod(p, config);
    expect(JSON.stringify(pod)).not.toContain(secret);
    const runSecret = buildRunSecret(p, config);
    expect(runSecret.metadata!.name).toBe(podName(p));
    expect(Buffer.from(runSecret.data!["git-credential"]!, "base64").toString()).toBe(`bot\n${secret}\n`);
    expect(pod.spec!.volumes).toContainEqual({
      name: "input",
      secret: { secretName: podName(p), defaultMode: 0o440 },
    });
    const [agent] = pod.spec!.containers;
    expect(agent!.volumeMounts!.map((m) => m.name).sort()).toEqual(["run", "workspace"]);
    expect(pod.spec!.initContainers![0]!.volumeMounts!.map((m) => m.name)).toContain("input");
  });

  it("applies the optional settings: RuntimeClass, pull policy and secrets, host network", () => {
    const { config, plan: p } = plan({
      OPTIO_RUNNER_KUBE_RUNTIME_CLASS: "gvisor",
      OPTIO_RUNNER_KUBE_PULL_SECRETS: "registry-a,registry-b",
      OPTIO_RUNNER_PULL: "missing",
      OPTIO_RUNNER_NETWORK: "host",
      OPTIO_RUNNER_KUBE_NAMESPACE: "runs",
    });
    const pod = buildRunPod(p, config);
    expect(pod.metadata!.namespace).toBe("runs");
    expect(pod.spec).toMatchObject({
      runtimeClassName: "gvisor",
      hostNetwork: true,
      imagePullSecrets: [{ name: "registry-a" }, { name: "registry-b" }],
    });
    expect(pod.spec!.containers[0]!.imagePullPolicy).toBe("IfNotPresent");
  });

  it("the policy the API double enforces rejects a weakened spec", () => {
    const { config, plan: p } = plan();
    const pod = buildRunPod(p, config);
    pod.spec!.containers[0]!.securityContext!.allowPrivilegeEscalation = true;
    delete pod.spec!.containers[0]!.resources!.limits;
    pod.spec!.automountServiceAccountToken = true;
    expect(podPolicyViolations(pod)).toEqual([
      "spec.automountServiceAccountToken must be false",
      "spec.containers[0].securityContext.allowPrivilegeEscalation must be false",
      "spec.containers[0].resources.limits.cpu is required",
      "spec.containers[0].resources.limits.memory is required",
    ]);
  });
});

const withStatus = (status: V1Pod["status"]): V1Pod => ({ status });
const agentStatus = (state: object) => ({
  name: "agent",
  image: "i",
  imageID: "",
  ready: false,
  restartCount: 0,
  state,
});

describe("podState", () => {
  it("maps exit codes and OOM kills as the Docker driver does", () => {
    expect(
      podState(
        withStatus({
          phase: "Failed",
          containerStatuses: [agentStatus({ terminated: { exitCode: 137, reason: "OOMKilled" } })],
        }),
      ),
    ).toEqual({
      kind: "exited",
      exit: { exitCode: 137, oomKilled: true },
      reason: "OOMKilled",
    });
    expect(
      podState(
        withStatus({
          phase: "Failed",
          containerStatuses: [agentStatus({ terminated: { exitCode: 7, reason: "Error" } })],
        }),
      ),
    ).toMatchObject({
      exit: { exitCode: 7, oomKilled: false },
    });
    expect(
      podState(withStatus({ phase: "Running", containerStatuses: [agentStatus({ running: {} })] })),
    ).toEqual({ kind: "running" });
    expect(podState(withStatus({ phase: "Pending" }))).toEqual({ kind: "pending" });
  });

  it("turns image pull failures and bad configs into start failures", () => {
    for (const reason of ["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"])
      expect(
        podState(withStatus({ phase: "Pending", containerStatuses: [agentStatus({ waiting: { reason } })] })),
      ).toMatchObject({
        kind: "failed",
        code: "IMAGE_NOT_FOUND",
      });
    expect(
      podState(
        withStatus({
          phase: "Pending",
          containerStatuses: [agentStatus({ waiting: { reason: "CreateContainerConfigError" } })],
        }),
      ),
    ).toMatchObject({ kind: "failed", code: "CONTAINER_FAILED" });
    expect(
      podState(
        withStatus({
          phase: "Failed",
          initContainerStatuses: [{ ...agentStatus({ terminated: { exitCode: 1 } }), name: "input" }],
        }),
      ),
    ).toMatchObject({ kind: "failed", code: "CONTAINER_FAILED" });
  });

  it("reports an eviction as an exit without a result", () => {
    expect(podState(withStatus({ phase: "Failed", reason: "Evicted" }))).toEqual({
      kind: "exited",
      exit: { exitCode: null, oomKilled: false },
      reason: "Evicted",
    });
    expect(
      podState(
        withStatus({
          phase: "Failed",
          reason: "Evicted",
          containerStatuses: [agentStatus({ terminated: { exitCode: 137, reason: "Error" } })],
        }),
      ),
    ).toMatchObject({ exit: { exitCode: 137, oomKilled: false }, reason: "Evicted" });
  });
});
