// Pure: what a run Pod's status means for the run, in the Docker driver's terms (exit code, OOM
// kill, start failure). Unit-tested without a cluster.
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import type { RunErrorCode } from "@optio/contracts";
import type { RunExit } from "./driver";
import { AGENT_CONTAINER } from "./pod-spec";

export type PodState =
  | { kind: "pending" }
  | { kind: "running" }
  /** The agent container ran and ended (or the Pod was evicted/deleted with it). */
  | { kind: "exited"; exit: RunExit; reason: string | null }
  /** The agent container never started. */
  | { kind: "failed"; code: RunErrorCode; message: string };

/** Waiting reasons that will not resolve by themselves, with the run error each means. */
const STUCK: Record<string, RunErrorCode> = {
  ErrImagePull: "IMAGE_NOT_FOUND",
  ImagePullBackOff: "IMAGE_NOT_FOUND",
  ErrImageNeverPull: "IMAGE_NOT_FOUND",
  InvalidImageName: "IMAGE_NOT_FOUND",
  CreateContainerConfigError: "CONTAINER_FAILED",
  CreateContainerError: "CONTAINER_FAILED",
  RunContainerError: "CONTAINER_FAILED",
};

function stuck(statuses: V1ContainerStatus[] | undefined): PodState | null {
  for (const status of statuses ?? []) {
    const waiting = status.state?.waiting;
    const code = waiting?.reason ? STUCK[waiting.reason] : undefined;
    if (code)
      return {
        kind: "failed",
        code,
        message: `${status.name}: ${waiting!.reason}${waiting!.message ? `: ${waiting!.message}` : ""}`,
      };
  }
  return null;
}

export function podState(pod: V1Pod): PodState {
  const status = pod.status ?? {};
  const agent = status.containerStatuses?.find((c) => c.name === AGENT_CONTAINER);
  const terminated = agent?.state?.terminated;
  if (terminated)
    return {
      kind: "exited",
      exit: { exitCode: terminated.exitCode, oomKilled: terminated.reason === "OOMKilled" },
      reason: status.reason ?? terminated.reason ?? null,
    };
  if (agent?.state?.running) return { kind: "running" };

  const failedInit = status.initContainerStatuses?.find((c) => (c.state?.terminated?.exitCode ?? 0) !== 0);
  if (failedInit)
    return {
      kind: "failed",
      code: "CONTAINER_FAILED",
      message: `could not prepare the run's files (exit ${failedInit.state!.terminated!.exitCode})`,
    };
  const blocked = stuck(status.initContainerStatuses) ?? stuck(status.containerStatuses);
  if (blocked) return blocked;
  // Ended without the agent ever terminating by itself: evicted, or its deadline passed.
  if (status.phase === "Failed" || status.phase === "Succeeded")
    return { kind: "exited", exit: { exitCode: null, oomKilled: false }, reason: status.reason ?? null };
  return { kind: "pending" };
}
