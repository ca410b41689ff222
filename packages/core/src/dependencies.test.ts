import fc from "fast-check";
import { dependencyVerdict, findCycle, type DependencyEdge } from "./dependencies";

const e = (taskId: string, dependsOnId: string): DependencyEdge => ({ taskId, dependsOnId });

describe("findCycle", () => {
  it("refuses a self-edge", () => {
    expect(findCycle([], "a", "a")).toEqual(["a", "a"]);
  });
  it("finds a two-node cycle", () => {
    expect(findCycle([e("b", "a")], "a", "b")).toEqual(["a", "b", "a"]);
  });
  it("finds a longer cycle and names the path in order", () => {
    const edges = [e("b", "c"), e("c", "d"), e("d", "a")];
    expect(findCycle(edges, "a", "b")).toEqual(["a", "b", "c", "d", "a"]);
  });
  it("accepts a diamond", () => {
    const edges = [e("d", "b"), e("d", "c"), e("b", "a"), e("c", "a")];
    expect(findCycle(edges, "e", "d")).toBeNull();
    expect(findCycle(edges, "d", "a")).toBeNull();
  });
  it("returns a shortest cycle", () => {
    const edges = [e("b", "x"), e("x", "y"), e("y", "a"), e("b", "a")];
    expect(findCycle(edges, "a", "b")).toEqual(["a", "b", "a"]);
  });
  it("agrees with a brute-force reachability check on random graphs", () => {
    const node = fc.constantFrom("a", "b", "c", "d", "e", "f");
    fc.assert(
      fc.property(fc.array(fc.tuple(node, node), { maxLength: 15 }), node, node, (pairs, from, to) => {
        const edges = pairs.filter(([x, y]) => x !== y).map(([x, y]) => e(x, y));
        const reachable = new Set<string>([to]);
        for (let changed = true; changed;) {
          changed = false;
          for (const edge of edges) {
            if (reachable.has(edge.taskId) && !reachable.has(edge.dependsOnId)) {
              reachable.add(edge.dependsOnId);
              changed = true;
            }
          }
        }
        const cycle = findCycle(edges, from, to);
        expect(cycle !== null).toBe(from === to || reachable.has(from));
        if (cycle && from !== to) {
          expect(cycle[0]).toBe(from);
          expect(cycle[1]).toBe(to);
          expect(cycle[cycle.length - 1]).toBe(from);
          // every consecutive pair after the new edge is an existing edge
          for (let i = 1; i < cycle.length - 1; i++) {
            expect(edges.some((edge) => edge.taskId === cycle[i] && edge.dependsOnId === cycle[i + 1])).toBe(
              true,
            );
          }
        }
      }),
    );
  });
});

describe("dependencyVerdict", () => {
  it("is met with no dependencies or all completed", () => {
    expect(dependencyVerdict([])).toBe("met");
    expect(dependencyVerdict(["completed", "completed"])).toBe("met");
  });
  it("waits while any is on its way (pr_opened is not completed)", () => {
    expect(dependencyVerdict(["completed", "pr_opened"])).toBe("waiting");
    expect(dependencyVerdict(["queued"])).toBe("waiting");
  });
  it("is broken when any failed or was cancelled", () => {
    expect(dependencyVerdict(["queued", "failed"])).toBe("broken");
    expect(dependencyVerdict(["cancelled"])).toBe("broken");
  });
});
