// Workspace snapshots, engine-free: which snapshot image serves a run, and when to make a new one.
//
// A snapshot is a repository's checkout kept as an image layer: the run's image plus /workspace/repo,
// a clone of the runner's mirror (objects borrowed from it, HEAD detached at a commit of the branch).
// A run of the repository is created from it, so its files are in place at no per-file cost
// (Docker's overlay), where a clone writes them all (2.6-3.2 s for 10,000 files into a container's
// writable layer on a small VM, even from the mirror). optio-clone brings the snapshot up to the
// mirror's tip: a fetch from the mirror and a checkout of what changed since; an unusable snapshot
// falls back to a clone.
//
// One per (mirror, branch, image): made in the background after a run of it when the branch moved
// and the current one is at least `minAgeMs` old (runs meanwhile check out the difference), one
// build at a time per target (a request meanwhile runs next). At most `max` are kept: beyond, the
// least recently used go. A replaced or evicted image is removed, or, while a container still uses
// it, at the next build or restart. The engine side (building in a container of the run's own
// image, user, limits and hardening, without network, secret or credential) is docker-snapshots.ts.
// The warm pool's containers for a repository with a snapshot are made from it too: before their
// run they hold its checkout, which is no more than the mirror already mounted in them (no secret,
// no credential, nothing of any run); each serves one run.
import type { Logger } from "pino";
import { KeyedBackground } from "./keyed-background";
import type { MirrorHold } from "./repo-cache";

/** What a snapshot is made for: a run of this image on this branch of this mirror. */
export interface SnapshotTarget {
  mirror: string;
  branch: string;
  image: string;
}

/** A snapshot image as the engine reports it. */
export interface SnapshotImage {
  /** The image's ID. */
  id: string;
  /** snapshotKey of its target. */
  key: string;
  /** The commit checked out in it. */
  commit: string;
  /** The ID of the image it was made from. */
  base: string;
  /** When it was made (ms since the epoch). */
  created: number;
}

export interface SnapshotEngine {
  /** The ID of an image the engine has, or null. */
  imageId(image: string): Promise<string | null>;
  /** Makes the snapshot of `target` at `commit` on the base image `base` (an ID). */
  build(target: SnapshotTarget, key: string, commit: string, base: string): Promise<SnapshotImage>;
  /** The snapshot images of this runner, newest first. */
  list(): Promise<SnapshotImage[]>;
  /** Removes a snapshot image; false when a container still uses it. */
  remove(id: string): Promise<boolean>;
}

/** The mirror access a build needs (RepoCache's). */
export interface SnapshotMirrors {
  holdMirror(name: string): MirrorHold;
  tip(name: string, branch: string): Promise<string | null>;
}

export const snapshotKey = (target: SnapshotTarget): string =>
  JSON.stringify([target.mirror, target.branch, target.image]);

export class WorkspaceSnapshots {
  /** The snapshot serving each target. */
  private readonly current = new Map<string, SnapshotImage>();
  /** Replaced images a container still used; removal is tried again after each build. */
  private readonly replaced = new Set<string>();
  /** When each target's snapshot last served a run (ms since the epoch). */
  private readonly lastUsed = new Map<string, number>();
  /** The build under way for each target (one at a time; a request meanwhile runs once more after). */
  private readonly builds = new KeyedBackground<SnapshotTarget>({
    work: (key, target) =>
      this.update(target, key).catch((error: unknown) =>
        this.opts.logger.warn({ err: error, mirror: target.mirror }, "workspace snapshot: not made"),
      ),
  });
  private loaded: Promise<void> | undefined;

  constructor(
    private readonly opts: {
      engine: SnapshotEngine;
      mirrors: SnapshotMirrors;
      logger: Logger;
      /** A moved branch gets a new snapshot only once the current one is this old. */
      minAgeMs: number;
      /** Snapshots kept at most. */
      max: number;
    },
  ) {}

  /** The snapshot image to create a run of `target` from, or null (none yet, or of another base). */
  async imageFor(target: SnapshotTarget): Promise<string | null> {
    await this.load();
    const key = snapshotKey(target);
    const snapshot = this.current.get(key);
    if (!snapshot) return null;
    // The image's name may point at a new build since: its snapshot is then of the old one.
    if ((await this.opts.engine.imageId(target.image)) !== snapshot.base) return null;
    this.lastUsed.set(key, Date.now());
    return snapshot.id;
  }

  /** After a run of `target` (its mirror just fetched): a new snapshot in the background if the branch moved. */
  refresh(target: SnapshotTarget): void {
    this.builds.request(snapshotKey(target), target);
  }

  /** Resolves when no snapshot is being made (for tests and benchmarks). */
  settled(): Promise<void> {
    return this.builds.settled();
  }

  /** At shutdown: lets the builds under way finish; starts none. */
  close(): Promise<void> {
    return this.builds.close();
  }

  /** Once: adopts the newest snapshot of each target left by an earlier process; removes the rest. */
  private load(): Promise<void> {
    this.loaded ??= (async () => {
      for (const image of await this.opts.engine.list()) {
        if (!this.current.has(image.key)) this.current.set(image.key, image);
        else this.replaced.add(image.id);
      }
      this.evictBeyondMax(); // the limit may have been lowered since
      await this.removeReplaced();
    })().catch((error: unknown) => {
      this.loaded = undefined; // tried again with the next run
      throw error;
    });
    return this.loaded;
  }

  private async update(target: SnapshotTarget, key: string): Promise<void> {
    await this.load();
    const hold = this.opts.mirrors.holdMirror(target.mirror); // the build's clone reads it
    try {
      const [commit, base] = await Promise.all([
        this.opts.mirrors.tip(target.mirror, target.branch),
        this.opts.engine.imageId(target.image),
      ]);
      if (!commit || !base) return;
      const previous = this.current.get(key);
      const young = previous && Date.now() - previous.created < this.opts.minAgeMs;
      if (previous?.base === base && (previous.commit === commit || young)) return;
      const made = await this.opts.engine.build(target, key, commit, base);
      this.current.set(key, made);
      if (previous) this.replaced.add(previous.id);
      else this.evictBeyondMax(key);
    } finally {
      hold.release();
    }
    await this.removeReplaced();
  }

  /** Beyond `max`, the least recently used snapshots go (the never used, oldest first); not `kept`. */
  private evictBeyondMax(kept?: string): void {
    const lastUse = (key: string) => this.lastUsed.get(key) ?? 0;
    const candidates = [...this.current.keys()]
      .filter((key) => key !== kept)
      .sort((a, b) => lastUse(a) - lastUse(b) || this.current.get(a)!.created - this.current.get(b)!.created);
    for (const key of candidates) {
      if (this.current.size <= this.opts.max) break;
      this.replaced.add(this.current.get(key)!.id);
      this.current.delete(key);
      this.lastUsed.delete(key);
    }
  }

  private async removeReplaced(): Promise<void> {
    for (const id of this.replaced)
      if (await this.opts.engine.remove(id).catch(() => false)) this.replaced.delete(id);
  }
}
