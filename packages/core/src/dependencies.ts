// Task dependencies: "A depends on B" is the edge A → B; A may start only once B is completed.
import type { TaskState } from "./task-states";

export type DependencyEdge = { taskId: string; dependsOnId: string };

/**
 * The path that adding `taskId → dependsOnId` would close into a cycle, or null.
 * The path starts and ends with `taskId`: [taskId, dependsOnId, ..., taskId].
 * `edges` must contain at least every existing edge reachable from `dependsOnId`.
 */
export function findCycle(
  edges: readonly DependencyEdge[],
  taskId: string,
  dependsOnId: string,
): string[] | null {
  if (taskId === dependsOnId) return [taskId, taskId];
  const next = new Map<string, string[]>();
  for (const edge of edges) {
    const list = next.get(edge.taskId);
    if (list) list.push(edge.dependsOnId);
    else next.set(edge.taskId, [edge.dependsOnId]);
  }
  // Breadth-first from dependsOnId: the first path found back to taskId is a shortest one.
  const parent = new Map<string, string>([[dependsOnId, taskId]]);
  const queue = [dependsOnId];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const target of next.get(node) ?? []) {
      if (target === taskId) {
        // Walk back from node to dependsOnId, then read it forwards.
        const chain: string[] = [];
        for (let at = node; at !== taskId; at = parent.get(at)!) chain.push(at);
        return [taskId, ...chain.reverse(), taskId];
      }
      if (!parent.has(target)) {
        parent.set(target, node);
        queue.push(target);
      }
    }
  }
  return null;
}

/**
 * The one "met" rule: a dependency is met when it is `completed`.
 * - `met`: every dependency completed (or none): the task may be queued.
 * - `waiting`: some are still on their way.
 * - `broken`: some failed or was cancelled: a waiting dependent fails.
 */
export type DependencyVerdict = "met" | "waiting" | "broken";

export function dependencyVerdict(states: readonly TaskState[]): DependencyVerdict {
  if (states.some((state) => state === "failed" || state === "cancelled")) return "broken";
  return states.every((state) => state === "completed") ? "met" : "waiting";
}

/** States in which a task's dependency edges may be added (it has not started, or ended badly). */
export const DEPENDENCY_EDITABLE_STATES: readonly TaskState[] = [
  "pending",
  "waiting_on_deps",
  "queued",
  "failed",
  "cancelled",
];
