// TEST ONLY. What the Kubernetes API double refuses in a submitted Pod: API validation (names,
// labels) plus the "restricted" Pod Security Standard and Optio's own rules (limits on every
// container, no service account token, no host paths, no restarts).
import type { V1Container, V1Pod } from "@kubernetes/client-node";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

function containerViolations(c: V1Container, where: string): string[] {
  const out: string[] = [];
  const sc = c.securityContext;
  if (sc?.allowPrivilegeEscalation !== false)
    out.push(`${where}.securityContext.allowPrivilegeEscalation must be false`);
  if (!sc?.capabilities?.drop?.includes("ALL"))
    out.push(`${where}.securityContext.capabilities.drop must include ALL`);
  if (sc?.capabilities?.add?.length) out.push(`${where}.securityContext.capabilities.add must be empty`);
  if (sc?.privileged) out.push(`${where}.securityContext.privileged must not be true`);
  if (sc?.runAsUser === 0) out.push(`${where}.securityContext.runAsUser must not be 0`);
  for (const resource of ["cpu", "memory"])
    for (const kind of ["limits", "requests"] as const)
      if (!c.resources?.[kind]?.[resource]) out.push(`${where}.resources.${kind}.${resource} is required`);
  if (!c.image) out.push(`${where}.image is required`);
  return out;
}

export function podPolicyViolations(pod: V1Pod): string[] {
  const out: string[] = [];
  const name = pod.metadata?.name ?? "";
  if (!DNS_LABEL.test(name)) out.push("metadata.name must be a DNS label");
  for (const [key, value] of Object.entries(pod.metadata?.labels ?? {})) {
    if (!LABEL_NAME.test(key.split("/").pop()!)) out.push(`metadata.labels: invalid key ${key}`);
    if (!LABEL_VALUE.test(value)) out.push(`metadata.labels: invalid value for ${key}`);
  }
  const spec = pod.spec;
  if (!spec?.containers?.length) return [...out, "spec.containers is required"];
  if (spec.restartPolicy !== "Never") out.push("spec.restartPolicy must be Never");
  if (spec.automountServiceAccountToken !== false)
    out.push("spec.automountServiceAccountToken must be false");
  if (spec.hostPID || spec.hostIPC) out.push("spec.hostPID/hostIPC must not be set");
  if (spec.securityContext?.runAsNonRoot !== true) out.push("spec.securityContext.runAsNonRoot must be true");
  if (spec.securityContext?.seccompProfile?.type !== "RuntimeDefault")
    out.push("spec.securityContext.seccompProfile.type must be RuntimeDefault");
  for (const volume of spec.volumes ?? [])
    if (volume.hostPath) out.push(`spec.volumes.${volume.name}: hostPath is not allowed`);
  spec.initContainers?.forEach((c, i) => out.push(...containerViolations(c, `spec.initContainers[${i}]`)));
  spec.containers.forEach((c, i) => out.push(...containerViolations(c, `spec.containers[${i}]`)));
  return out;
}
