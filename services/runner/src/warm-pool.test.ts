// The pool's bookkeeping without an engine: units are plain objects whose create and remove the
// test releases by hand, so the order of events is exact.
import pino from "pino";
import { WarmPool, type WarmUnit } from "./warm-pool";

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

class Unit implements WarmUnit {
  readonly removal = deferred<void>();
  removed = false;
  constructor(readonly id: string) {}
  async remove(): Promise<void> {
    await this.removal.promise;
    this.removed = true;
  }
}

function poolOf(size: number, refillDelayMs = 0) {
  const creates: Array<{ target: string; made: Deferred<Unit> }> = [];
  const pool = new WarmPool<Unit>({
    size,
    refillDelayMs,
    target: "image-a",
    create: (target) => {
      const made = deferred<Unit>();
      creates.push({ target, made });
      return made.promise;
    },
    logger: pino({ level: "silent" }),
  });
  return { pool, creates };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("WarmPool", () => {
  it("hands each ready unit to one run and refills behind it", async () => {
    const { pool, creates } = poolOf(1);
    pool.refill();
    expect(creates).toHaveLength(1);
    creates[0]!.made.resolve(new Unit("u1"));
    await flush();

    expect(pool.take("image-a")?.id).toBe("u1");
    expect(pool.take("image-a")).toBeNull(); // the refill is still being created
    expect(creates).toHaveLength(2);
    expect(pool.stats()).toEqual({ size: 1, ready: 0, used: 1 });
  });

  it("with a refill delay, replaces a taken unit only once the delay has passed", async () => {
    const { pool, creates } = poolOf(2, 30);
    pool.refill();
    creates.forEach((c, i) => c.made.resolve(new Unit(`u${i}`)));
    await flush();

    expect(pool.take("image-a")?.id).toBe("u0");
    expect(pool.take("image-a")?.id).toBe("u1");
    expect(creates).toHaveLength(2); // the run that took the unit starts alone
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(creates).toHaveLength(4); // one timer for both takes, filling both places
  });

  it("close() cancels a refill waiting for its delay", async () => {
    const { pool, creates } = poolOf(1, 30);
    pool.refill();
    creates[0]!.made.resolve(new Unit("u0"));
    await flush();
    expect(pool.take("image-a")?.id).toBe("u0");
    await pool.close();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(creates).toHaveLength(1);
  });

  it("close() returns only after a unit still being created when it was called is removed", async () => {
    const { pool, creates } = poolOf(1);
    pool.refill();
    let closed = false;
    const closing = pool.close().then(() => (closed = true));

    const late = new Unit("late");
    creates[0]!.made.resolve(late);
    await flush();
    expect(closed).toBe(false); // its removal has not finished

    late.removal.resolve();
    await closing;
    expect(late.removed).toBe(true);
  });

  it("a unit made for an old target is removed, and the pool refills for the new one", async () => {
    const { pool, creates } = poolOf(1);
    pool.refill();
    expect(pool.take("image-b")).toBeNull();
    const stale = new Unit("stale");
    stale.removal.resolve();
    creates[0]!.made.resolve(stale);
    await flush();

    expect(stale.removed).toBe(true);
    expect(creates.map((c) => c.target)).toEqual(["image-a", "image-b"]);
  });
});
