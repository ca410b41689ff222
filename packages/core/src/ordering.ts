// Queue order: lower priority runs sooner, then lower position (creation order unless reordered),
// then older, then id (a total order, so every replica agrees).

export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 1000;
export const DEFAULT_PRIORITY = 100;
/** Reviews jump the queue (the reference queues them at 10). */
export const REVIEW_PRIORITY = 10;

export type QueueSlot = { priority: number; position: number };
export type Orderable = QueueSlot & { createdAt: Date; id: string };

export function compareQueueOrder(a: Orderable, b: Orderable): number {
  return (
    a.priority - b.priority ||
    a.position - b.position ||
    a.createdAt.getTime() - b.createdAt.getTime() ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * Reorder: the listed tasks take, in list order, the queue slots (priority, position) they occupy
 * together, sorted. So they run in the listed order and keep their place relative to every task
 * not listed. Returns the new slot of each id. Duplicate ids are the caller's error.
 */
export function reorderSlots(
  taskIds: readonly string[],
  current: ReadonlyMap<string, QueueSlot>,
): Map<string, QueueSlot> {
  const slots = taskIds
    .map((id) => {
      const slot = current.get(id);
      if (!slot) throw new Error(`no slot for ${id}`);
      return { priority: slot.priority, position: slot.position };
    })
    .sort((a, b) => a.priority - b.priority || a.position - b.position);
  return new Map(taskIds.map((id, index) => [id, slots[index]!]));
}

/** A subtask's default priority: just ahead of its parent. */
export function subtaskPriority(parentPriority: number): number {
  return Math.max(PRIORITY_MIN, parentPriority - 1);
}
