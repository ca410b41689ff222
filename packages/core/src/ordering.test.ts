import fc from "fast-check";
import { compareQueueOrder, reorderSlots, subtaskPriority, type QueueSlot } from "./ordering";

describe("queue order", () => {
  const t = (id: string, priority: number, position: number, created = 0) => ({
    id,
    priority,
    position,
    createdAt: new Date(created),
  });
  it("sorts by priority, position, age, id", () => {
    const tasks = [t("d", 5, 1, 2), t("c", 5, 1, 1), t("b", 5, 0), t("a", 1, 9), t("e", 5, 1, 1)];
    expect(tasks.sort(compareQueueOrder).map((task) => task.id)).toEqual(["a", "b", "c", "e", "d"]);
  });
  it("keeps subtasks just ahead of their parent", () => {
    expect(subtaskPriority(100)).toBe(99);
    expect(subtaskPriority(0)).toBe(0);
  });
});

describe("reorderSlots", () => {
  it("gives the listed tasks their combined slots in list order", () => {
    const current = new Map<string, QueueSlot>([
      ["a", { priority: 100, position: 1 }],
      ["b", { priority: 50, position: 2 }],
      ["c", { priority: 100, position: 3 }],
    ]);
    const result = reorderSlots(["c", "a", "b"], current);
    expect(result.get("c")).toEqual({ priority: 50, position: 2 });
    expect(result.get("a")).toEqual({ priority: 100, position: 1 });
    expect(result.get("b")).toEqual({ priority: 100, position: 3 });
  });
  it("returns plain slots, not the caller's objects", () => {
    const current = new Map([["a", { priority: 1, position: 1, id: "a", state: "queued" }]]);
    expect(reorderSlots(["a"], current).get("a")).toEqual({ priority: 1, position: 1 });
  });
  it("always yields the listed order and a permutation of the slots", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1000 })), {
          selector: ([, position]) => position,
          minLength: 1,
          maxLength: 20,
        }),
        fc.integer(),
        (slotPairs, seed) => {
          const ids = slotPairs.map((_, index) => `t${index}`);
          const current = new Map(
            ids.map((id, index) => [id, { priority: slotPairs[index]![0], position: slotPairs[index]![1] }]),
          );
          const order = [...ids].sort(
            (a, b) => ((a.charCodeAt(1) * seed) % 7) - ((b.charCodeAt(1) * seed) % 7),
          );
          const result = reorderSlots(order, current);
          const sorted = order.map((id) => result.get(id)!);
          for (let i = 1; i < sorted.length; i++) {
            const [prev, cur] = [sorted[i - 1]!, sorted[i]!];
            expect(
              prev.priority < cur.priority ||
                (prev.priority === cur.priority && prev.position < cur.position),
            ).toBe(true);
          }
          const key = (slot: QueueSlot) => `${slot.priority}:${slot.position}`;
          expect([...result.values()].map(key).sort()).toEqual([...current.values()].map(key).sort());
        },
      ),
    );
  });
});
