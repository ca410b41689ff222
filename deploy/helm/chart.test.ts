/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are untyped YAML, read by path */
// The Helm chart, offline (no helm binary here): values.yaml against values.schema.json (ajv), the
// templates rendered by helm-lite with the default and with every option on, and each manifest
// checked against the Kubernetes and KEDA models (kubernetes-models). What only helm itself can
// check (its template engine, hooks at install time) is listed in the README.
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import { parse, parseAllDocuments } from "yaml";
import { ConfigMap, Namespace, Pod, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { buildRunPod } from "../../services/runner/src/pod-spec";
import { planRun } from "../../services/runner/src/run-plan";
import { runSpec, testConfig } from "../../services/runner/src/testing/fixtures";
import {
  natsAuthorizationConfig,
  optioNatsUsers,
  runnerNatsUser,
} from "../../packages/contracts/src/nats-permissions";
import { HelmLite } from "./helm-lite";

const chartDir = path.join(__dirname, "optio");
const defaults = parse(readFileSync(path.join(chartDir, "values.yaml"), "utf8")) as Record<string, any>;
const chart = parse(readFileSync(path.join(chartDir, "Chart.yaml"), "utf8")) as Record<string, string>;
const schema = JSON.parse(readFileSync(path.join(chartDir, "values.schema.json"), "utf8"));
const validateValues = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);
const helm = new HelmLite(chartDir);

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "batch/v1/Job": Job,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
};

const merge = (base: any, over: any): any =>
  over && typeof over === "object" && !Array.isArray(over)
    ? Object.fromEntries(
        [...new Set([...Object.keys(base ?? {}), ...Object.keys(over)])].map((k) => [
          k,
          merge(base?.[k], over[k]),
        ]),
      )
    : (over ?? base);

/** Renders with `overrides`, parses every document and validates it against its model. */
function render(overrides: Record<string, unknown> = {}) {
  const values = merge(defaults, overrides);
  expect(validateValues(values)).toBe(true);
  const files = helm.render({
    Values: values,
    Release: { Name: "optio", Namespace: "optio" },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  });
  const docs = [...files.values()].flatMap((text) =>
    parseAllDocuments(text).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as Record<string, any>;
    }),
  );
  const objects = docs.filter(Boolean);
  for (const object of objects) {
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    if (!Model) throw new Error(`no model for ${object.apiVersion}/${object.kind}`);
    new Model(object).validate();
  }
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  return { objects, find };
}

describe("values.schema.json", () => {
  it("accepts the chart's values.yaml", () => {
    expect(validateValues(defaults)).toBe(true);
  });

  it("rejects wrong values, naming the field", () => {
    for (const [overrides, field] of [
      [{ api: { replicas: 0 } }, "/api/replicas"],
      [{ runner: { pull: "always" } }, "/runner/pull"],
      [{ runner: { containerUser: "0:0" } }, "/runner/containerUser"],
      [{ nats: { url: "http://nats" } }, "/nats/url"],
      [{ autoscaling: { minReplicaCount: -1 } }, "/autoscaling/minReplicaCount"],
    ] as const) {
      expect(validateValues(merge(defaults, overrides))).toBe(false);
      expect(validateValues.errors!.map((e) => e.instancePath)).toContain(field);
    }
    expect(validateValues(merge(defaults, { api: { replica: 2 } }))).toBe(false); // typo'd key
  });
});

describe("chart templates", () => {
  it("renders valid manifests with the defaults", () => {
    const { objects, find } = render();
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        "ConfigMap/optio-nats-auth",
        "Deployment/optio-api",
        "StatefulSet/optio-runner",
        "Job/optio-migrations",
        "Namespace/optio-runs",
        "NetworkPolicy/optio-api",
        "NetworkPolicy/optio-runner",
        "NetworkPolicy/optio-runs",
        "PodDisruptionBudget/optio-api",
        "Role/optio-runner",
        "RoleBinding/optio-runner",
        "Service/optio-api",
        "Service/optio-runner",
        "ServiceAccount/optio-runner",
      ].sort(),
    );
    const api = find("Deployment", "optio-api")!;
    expect(api.spec.replicas).toBe(2);
    const apiContainer = api.spec.template.spec.containers[0];
    expect(apiContainer.image).toBe(`optio/api:${chart.appVersion}`);
    expect(apiContainer.readinessProbe.httpGet).toEqual({ path: "/api/health", port: "http" });
    expect(apiContainer.env).toContainEqual({
      name: "DATABASE_URL",
      valueFrom: { secretKeyRef: { name: "optio-database", key: "url" } },
    });
    expect(find("PodDisruptionBudget", "optio-api")!.spec.minAvailable).toBe(1);

    const runner = find("StatefulSet", "optio-runner")!.spec.template.spec;
    expect(runner.serviceAccountName).toBe("optio-runner");
    expect(runner.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: "OPTIO_RUNNER_DRIVER", value: "kubernetes" },
        { name: "OPTIO_RUNNER_KUBE_NAMESPACE", value: "optio-runs" },
        { name: "OPTIO_RUNNER_ID", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ]),
    );
    const role = find("Role", "optio-runner")!;
    expect(role.metadata.namespace).toBe("optio-runs");
    expect(role.rules.flatMap((r: any) => r.resources).sort()).toEqual(["pods", "pods/log", "secrets"]);
    expect(role.rules.flatMap((r: any) => r.verbs)).not.toContain("*");

    const job = find("Job", "optio-migrations")!;
    expect(job.metadata.annotations["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
    expect(job.spec.template.spec.restartPolicy).toBe("Never");

    const runs = find("NetworkPolicy", "optio-runs")!;
    expect(runs.metadata.namespace).toBe("optio-runs");
    expect(runs.spec.ingress).toEqual([]);
    expect(runs.spec.egress[1].to[0].ipBlock.except).toEqual(
      expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]),
    );
    for (const deployment of [api, find("StatefulSet", "optio-runner")!])
      expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
  });

  it("renders the options: Ingress, KEDA autoscaling from zero, RuntimeClass, git credentials", () => {
    const { find } = render({
      ingress: { enabled: true, className: "nginx", tlsSecretName: "optio-tls" },
      autoscaling: { enabled: true, minReplicaCount: 0, maxReplicaCount: 50 },
      runner: { runtimeClassName: "gvisor", gitCredentialsSecret: "optio-git", slots: 3 },
      image: { repository: "registry.example.com/optio", tag: "1.2.3" },
      imagePullSecrets: [{ name: "registry" }],
    });
    const scaled = find("ScaledObject", "optio-runner")!;
    expect(scaled.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: "optio-runner" },
      minReplicaCount: 0,
      maxReplicaCount: 50,
      triggers: [{ type: "prometheus", metadata: { query: "sum(optio_queue_claimable)", threshold: "3" } }],
    });
    expect(find("Ingress", "optio-api")!.spec).toMatchObject({
      ingressClassName: "nginx",
      tls: [{ secretName: "optio-tls" }],
    });
    const runner = find("StatefulSet", "optio-runner")!.spec.template.spec;
    expect(runner.containers[0].image).toBe("registry.example.com/optio/runner:1.2.3");
    expect(runner.containers[0].env).toContainEqual({
      name: "OPTIO_RUNNER_KUBE_RUNTIME_CLASS",
      value: "gvisor",
    });
    expect(runner.volumes).toEqual([
      { name: "nats-credentials", secret: { secretName: "optio-nats-runners" } },
      { name: "git-credentials", secret: { secretName: "optio-git" } },
    ]);
    expect(runner.imagePullSecrets).toEqual([{ name: "registry" }]);
  });

  it("turns off the optional parts", () => {
    const { objects } = render({
      migrations: { enabled: false },
      networkPolicies: { enabled: false },
      runner: { createRunsNamespace: false },
    });
    expect(objects.map((o) => o.kind)).not.toEqual(expect.arrayContaining(["Job"]));
    expect(objects.some((o) => ["NetworkPolicy", "Namespace", "Job"].includes(o.kind))).toBe(false);
  });
});

describe("NATS identities", () => {
  const authConf = (objects: ReturnType<typeof render>) =>
    objects.find("ConfigMap", "optio-nats-auth")!.data["auth.conf"] as string;
  const expected = (runners: number) =>
    natsAuthorizationConfig(
      optioNatsUsers({
        api: { env: "OPTIO_NATS_API_PASSWORD" },
        runners: Array.from({ length: runners }, (_, n) => ({
          id: `optio-runner-${n}`,
          password: { env: `OPTIO_NATS_RUNNER_${n}_PASSWORD` },
        })),
      }),
    );

  it("lists the API and one user per runner Pod with the contracts' permissions", () => {
    expect(authConf(render())).toBe(expected(1));
    expect(authConf(render({ runner: { replicas: 3 } }))).toBe(expected(3));
    // Autoscaling: every Pod KEDA may start has an identity.
    expect(authConf(render({ autoscaling: { enabled: true, maxReplicaCount: 12 } }))).toBe(expected(12));
  });

  it("gives each runner Pod its own identity (its Pod name) and the API its own password, each from its Secret", () => {
    const { find } = render();
    const runner = find("StatefulSet", "optio-runner")!.spec.template.spec;
    const env = runner.containers[0].env as { name: string; value?: string; valueFrom?: any }[];
    const names = env.map((e) => e.name);
    // $(VAR) expands only variables defined earlier in the list.
    expect(names.indexOf("OPTIO_RUNNER_ID")).toBeLessThan(names.indexOf("OPTIO_RUNNER_ORDINAL"));
    expect(names.indexOf("OPTIO_RUNNER_ORDINAL")).toBeLessThan(names.indexOf("NATS_PASSWORD_FILE"));
    expect(env.find((e) => e.name === "OPTIO_RUNNER_ORDINAL")!.valueFrom).toEqual({
      fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" },
    });
    expect(env.find((e) => e.name === "NATS_PASSWORD_FILE")!.value).toBe(
      "/etc/optio/nats/OPTIO_NATS_RUNNER_$(OPTIO_RUNNER_ORDINAL)_PASSWORD",
    );
    expect(names).not.toContain("NATS_USER"); // runner-<Pod name>, as the ConfigMap lists it
    expect(runnerNatsUser("optio-runner-0")).toBe("runner-optio-runner-0");
    expect(runner.containers[0].volumeMounts).toContainEqual({
      name: "nats-credentials",
      mountPath: "/etc/optio/nats",
      readOnly: true,
    });
    expect(JSON.stringify(runner)).not.toContain("optio-nats-api");

    const api = find("Deployment", "optio-api")!.spec.template.spec;
    expect(api.containers[0].env).toContainEqual({
      name: "NATS_PASSWORD",
      valueFrom: { secretKeyRef: { name: "optio-nats-api", key: "OPTIO_NATS_API_PASSWORD" } },
    });
    expect(JSON.stringify(api)).not.toContain("optio-nats-runners");
    expect(JSON.stringify(find("Job", "optio-migrations")!)).not.toContain("NATS_PASSWORD");
  });

  it("requires the credential Secrets' names", () => {
    expect(validateValues(merge(defaults, { nats: { auth: { apiSecret: "" } } }))).toBe(false);
    expect(validateValues.errors!.map((e) => e.instancePath)).toContain("/nats/auth/apiSecret");
  });
});

describe("the run Pod the kubernetes driver submits", () => {
  it("is a valid Pod by the Kubernetes model", () => {
    const config = testConfig({
      OPTIO_RUNNER_DRIVER: "kubernetes",
      OPTIO_RUNNER_KUBE_RUNTIME_CLASS: "gvisor",
    });
    const plan = planRun(runSpec({ image: "optio/agent:1" }), {
      config,
      paths: { runDir: "/run/optio", workspace: "/workspace", env: {} },
      gitCredentials: {},
    });
    expect(() => new Pod(buildRunPod(plan, config) as any).validate()).not.toThrow();
  });
});
