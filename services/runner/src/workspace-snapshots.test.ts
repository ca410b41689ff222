// The snapshots' bookkeeping without an engine: builds are released by hand, so the order of events
// is exact. The engine's side is tested on a real one in workspace-snapshots.docker.test.ts.
import pino from "pino";
import {
  snapshotKey,
  WorkspaceSnapshots,
  type SnapshotEngine,
  type SnapshotImage,
  type SnapshotTarget,
} from "./workspace-snapshots";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const target: SnapshotTarget = { mirror: "m1.git", branch: "main", image: "agent:1" };
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** An engine whose images are a list, and whose builds wait for the test. */
function setup(existing: SnapshotImage[] = [], { minAgeMs = 0, max = 10 } = {}) {
  const state = {
    images: [...existing],
    bases: new Map([["agent:1", "sha256:base1"]]),
    inUse: new Set<string>(),
    builds: [] as Array<{ commit: string; base: string; done: ReturnType<typeof deferred<void>> }>,
    tips: new Map([
      ["m1.git main", "c1"],
      ["m2.git main", "c1"],
      ["m3.git main", "c1"],
    ]),
    held: 0,
  };
  let made = 0;
  const engine: SnapshotEngine = {
    imageId: async (image) => state.bases.get(image) ?? null,
    build: async (_target, key, commit, base) => {
      const done = deferred<void>();
      state.builds.push({ commit, base, done });
      await done.promise;
      const image = { id: `sha256:snap${++made}`, key, commit, base, created: Date.now() };
      state.images.unshift(image);
      return image;
    },
    list: async () => [...state.images],
    remove: async (id) => {
      if (state.inUse.has(id)) return false;
      state.images = state.images.filter((image) => image.id !== id);
      return true;
    },
  };
  const snapshots = new WorkspaceSnapshots({
    engine,
    mirrors: {
      holdMirror: (name) => {
        state.held++;
        return { name, release: () => state.held-- };
      },
      tip: async (name, branch) => state.tips.get(`${name} ${branch}`) ?? null,
    },
    logger: pino({ level: "silent" }),
    minAgeMs,
    max,
  });
  return { snapshots, state };
}

/** A refresh whose build the engine completes. */
async function makeOne(snapshots: WorkspaceSnapshots, state: ReturnType<typeof setup>["state"], of = target) {
  snapshots.refresh(of);
  await flush();
  state.builds.at(-1)!.done.resolve();
  await snapshots.settled();
}

describe("WorkspaceSnapshots", () => {
  it("serves no snapshot until one is made; makes one per tip, holding the mirror while it builds", async () => {
    const { snapshots, state } = setup();
    expect(await snapshots.imageFor(target)).toBeNull();
    snapshots.refresh(target);
    await flush();
    expect(state.builds.map((b) => [b.commit, b.base])).toEqual([["c1", "sha256:base1"]]);
    expect(state.held).toBe(1);
    state.builds[0]!.done.resolve();
    await snapshots.settled();
    expect(state.held).toBe(0);
    expect(await snapshots.imageFor(target)).toBe("sha256:snap1");

    snapshots.refresh(target); // the branch has not moved: nothing to make
    await snapshots.settled();
    expect(state.builds).toHaveLength(1);
  });

  it("a refresh during a build makes one more after it, at the tip then", async () => {
    const { snapshots, state } = setup();
    snapshots.refresh(target);
    await flush();
    state.tips.set("m1.git main", "c2");
    snapshots.refresh(target);
    snapshots.refresh(target);
    await flush();
    expect(state.builds).toHaveLength(1); // one at a time
    state.builds[0]!.done.resolve();
    await flush();
    expect(state.builds.map((b) => b.commit)).toEqual(["c1", "c2"]);
    state.builds[1]!.done.resolve();
    await snapshots.settled();
    expect(await snapshots.imageFor(target)).toBe("sha256:snap2");
    expect(state.images.map((i) => i.id)).toEqual(["sha256:snap2"]); // the one it replaced is removed
  });

  it("keeps a replaced image a container still uses until a later build can remove it", async () => {
    const { snapshots, state } = setup();
    await makeOne(snapshots, state);
    state.inUse.add("sha256:snap1");
    state.tips.set("m1.git main", "c2");
    await makeOne(snapshots, state);
    expect(state.images.map((i) => i.id)).toEqual(["sha256:snap2", "sha256:snap1"]);

    state.inUse.clear();
    state.tips.set("m1.git main", "c3");
    await makeOne(snapshots, state);
    expect(state.images.map((i) => i.id)).toEqual(["sha256:snap3"]);
  });

  it("serves no snapshot of an older base once the image's name points at a new build, and makes one", async () => {
    const { snapshots, state } = setup();
    await makeOne(snapshots, state);
    state.bases.set("agent:1", "sha256:base2");
    expect(await snapshots.imageFor(target)).toBeNull();
    snapshots.refresh(target);
    await flush();
    expect(state.builds.map((b) => [b.commit, b.base])[1]).toEqual(["c1", "sha256:base2"]);
    state.builds[1]!.done.resolve();
    await snapshots.settled();
    expect(await snapshots.imageFor(target)).toBe("sha256:snap2");
  });

  it("adopts the newest snapshot of a target an earlier process left, and removes the older ones", async () => {
    const key = snapshotKey(target);
    const { snapshots, state } = setup([
      { id: "sha256:new", key, commit: "c1", base: "sha256:base1", created: 2 },
      { id: "sha256:old", key, commit: "c0", base: "sha256:base1", created: 1 },
    ]);
    expect(await snapshots.imageFor(target)).toBe("sha256:new");
    expect(state.images.map((i) => i.id)).toEqual(["sha256:new"]);
    snapshots.refresh(target); // already at the tip
    await snapshots.settled();
    expect(state.builds).toHaveLength(0);
  });

  it("a failed build leaves the previous snapshot serving and the mirror released", async () => {
    const { snapshots, state } = setup();
    await makeOne(snapshots, state);
    state.tips.set("m1.git main", "c2");
    snapshots.refresh(target);
    await flush();
    state.builds[1]!.done.reject(new Error("build exited with 1"));
    await snapshots.settled();
    expect(state.held).toBe(0);
    expect(await snapshots.imageFor(target)).toBe("sha256:snap1");
  });

  it("makes none after close", async () => {
    const { snapshots, state } = setup();
    await snapshots.close();
    snapshots.refresh(target);
    await flush();
    expect(state.builds).toHaveLength(0);
  });

  it("gives a moved branch a new snapshot only once the current one is old enough; a new base at once", async () => {
    const clock = jest.spyOn(Date, "now").mockReturnValue(1_000);
    try {
      const { snapshots, state } = setup([], { minAgeMs: 60_000 });
      await makeOne(snapshots, state);
      state.tips.set("m1.git main", "c2");
      clock.mockReturnValue(60_000); // 59 s old
      snapshots.refresh(target);
      await snapshots.settled();
      expect(state.builds).toHaveLength(1);
      expect(await snapshots.imageFor(target)).toBe("sha256:snap1"); // runs check out the difference

      clock.mockReturnValue(61_000);
      await makeOne(snapshots, state);
      expect(state.builds.map((b) => b.commit)).toEqual(["c1", "c2"]);

      state.bases.set("agent:1", "sha256:base2"); // young, but of an image no run uses any more
      await makeOne(snapshots, state);
      expect(state.builds.map((b) => b.base)[2]).toBe("sha256:base2");
    } finally {
      clock.mockRestore();
    }
  });

  it("keeps at most `max` snapshots: the least recently used goes", async () => {
    const { snapshots, state } = setup([], { max: 2 });
    const [a, b, c] = ["m1.git", "m2.git", "m3.git"].map((mirror) => ({ ...target, mirror }));
    await makeOne(snapshots, state, a);
    await makeOne(snapshots, state, b);
    expect(await snapshots.imageFor(a!)).toBe("sha256:snap1"); // a is used: b is now the least recent
    await makeOne(snapshots, state, c);
    expect(await snapshots.imageFor(b!)).toBeNull();
    expect(await snapshots.imageFor(a!)).toBe("sha256:snap1");
    expect(await snapshots.imageFor(c!)).toBe("sha256:snap3");
    expect(state.images.map((i) => i.id).sort()).toEqual(["sha256:snap1", "sha256:snap3"]);
  });
});
