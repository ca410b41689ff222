// The runner's repo cache: one bare mirror per repository in OPTIO_RUNNER_REPO_CACHE, fetched before
// each run of that repository (never cloned again), which the run clones from with no server contact
// (deploy/images/agent/optio-clone: objects borrowed through alternates, the cache mounted read-only).
// It never holds a credential: it fetches with none, so a repository that needs one is simply not
// cached. A mirror that cannot be fetched (corrupted, deleted meanwhile) is removed and cloned
// afresh; failing that, the run clones without it. It is not removed while other runs hold it (their
// clones borrow its objects): this run then clones without it, and a later one repairs it.
//
// Checkout pack (checkout-pack.ts): beside the history, the objects of the run's branch tip,
// uncompressed, so a run's checkout copies bytes instead of inflating them. It is rebuilt in the
// background after the fetch when the branch moved, off the run's path: a stale one only makes a
// checkout slower. A replaced pack is removed only when no run holds the mirror (see MirrorHold).
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { type MirrorGit, refreshCheckoutPack, removeRetiredPacks } from "./checkout-pack";
import { KeyedBackground } from "./keyed-background";

const run = promisify(execFile);
/** Where the cache is mounted (read-only) in run containers. */
export const CACHE_MOUNT = "/optio/cache";
/**
 * A run's claim on its repository's mirror, from prepare() until its container is gone: while any
 * run holds a mirror, no replaced checkout pack of it is removed.
 */
export interface MirrorHold {
  /** The mirror's name in the cache. */
  readonly name: string;
  /** Idempotent. */
  release(): void;
}

export class RepoCache {
  /** One update at a time per mirror: two runs of a repository share one up-to-date mirror. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * Runs holding each mirror. A replaced pack waits for a moment when this is zero: a clone made
   * while it was on disk may read it for the rest of its run (alternates), and every run that
   * started meanwhile saw it, so a per-pack count would wait just as long. Simpler than hiding
   * packs from new runs, and a runner that restarts holds nothing (it removes leftover runs).
   */
  private readonly holders = new Map<string, number>();
  /** The background rebuild of each mirror's checkout pack (one at a time; the latest branch next). */
  private readonly rebuilds = new KeyedBackground<string>({
    work: (name, branch) =>
      refreshCheckoutPack(this.mirrorGit, path.join(this.opts.dir, name), branch).catch((error: unknown) =>
        this.opts.logger.warn({ err: error, mirror: name }, "repo cache: no checkout pack"),
      ),
    idle: (name) => this.removeRetired(name),
  });
  private readonly searchPath = process.env.PATH; // read once, at boot

  constructor(private readonly opts: { dir: string; logger: Logger; fetchTimeoutMs?: number }) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
  }

  /** The mirror's directory name for a repository URL (no URL text on disk). */
  static nameOf(repoUrl: string): string {
    return `${createHash("sha256").update(repoUrl).digest("hex").slice(0, 32)}.git`;
  }

  /**
   * Brings the repository's mirror up to date, and holds it for the caller's run (release it once
   * the run's container is gone); null when it has none. The checkout pack follows `branch`'s tip
   * in the background.
   */
  async prepare(repoUrl: string, branch: string): Promise<MirrorHold | null> {
    const name = RepoCache.nameOf(repoUrl);
    const release = this.hold(name); // before any await: nothing is removed from here on
    try {
      if (await this.serialized(name, () => this.update(repoUrl, name, branch))) return { name, release };
    } catch (error) {
      release();
      throw error;
    }
    release();
    return null;
  }

  /**
   * Holds a mirror for work other than a run (a workspace snapshot's build reads it): nothing of it
   * is removed until `release`.
   */
  holdMirror(name: string): MirrorHold {
    return { name, release: this.hold(name) };
  }

  /** The commit at the tip of `branch` in a mirror, or null (no such mirror or branch). */
  async tip(name: string, branch: string): Promise<string | null> {
    const mirror = path.join(this.opts.dir, name);
    if (!existsSync(mirror)) return null;
    try {
      const ref = `refs/heads/${branch}^{commit}`;
      return (await this.git(["-C", mirror, "rev-parse", "--verify", "--quiet", ref])).stdout.trim() || null;
    } catch {
      return null;
    }
  }

  /** Resolves when no checkout pack is being rebuilt (the state between two runs, for tests). */
  settled(): Promise<void> {
    return this.rebuilds.settled();
  }

  /** At shutdown: lets the fetches and the rebuild under way finish (no git left behind); starts none. */
  async close(): Promise<void> {
    const rebuilt = this.rebuilds.close(); // from here on, no rebuild starts
    await Promise.allSettled(this.locks.values());
    await rebuilt;
  }

  private serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(work);
    this.locks.set(name, next);
    void next
      .finally(() => {
        if (this.locks.get(name) === next) this.locks.delete(name);
      })
      .catch(() => {});
    return next;
  }

  private hold(name: string): () => void {
    this.holders.set(name, (this.holders.get(name) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = this.holders.get(name)! - 1;
      if (left > 0) this.holders.set(name, left);
      else {
        this.holders.delete(name);
        this.removeRetired(name);
      }
    };
  }

  /** Only when no run holds the mirror and no rebuild reads it. Synchronous: no hold starts meanwhile. */
  private removeRetired(name: string): void {
    if (this.holders.has(name) || this.rebuilds.has(name)) return;
    const mirror = path.join(this.opts.dir, name);
    try {
      if (existsSync(mirror)) removeRetiredPacks(mirror);
    } catch (error) {
      this.opts.logger.warn({ err: error, mirror: name }, "repo cache: could not remove old checkout packs");
    }
  }

  private async update(repoUrl: string, name: string, branch: string): Promise<boolean> {
    const mirror = path.join(this.opts.dir, name);
    if (!(await this.fetch(mirror, name))) {
      if (existsSync(mirror) && this.holders.get(name)! > 1) {
        this.opts.logger.warn({ mirror: name }, "repo cache: other runs borrow the mirror; not cached");
        return false;
      }
      await this.rebuilds.ended(name); // it reads the mirror about to be removed
      if (!(await this.clone(repoUrl, mirror, name))) return false;
    }
    this.rebuilds.request(name, branch); // within the update: a later update's clone waits for it
    return true;
  }

  private async fetch(mirror: string, name: string): Promise<boolean> {
    if (!existsSync(mirror)) return false;
    try {
      await this.git(["-C", mirror, "fetch", "--prune", "--quiet", "--no-write-fetch-head", "origin"]);
      return true;
    } catch (error) {
      this.opts.logger.warn({ err: error, mirror: name }, "repo cache: fetch failed");
      return false;
    }
  }

  private async clone(repoUrl: string, mirror: string, name: string): Promise<boolean> {
    rmSync(mirror, { recursive: true, force: true });
    try {
      // gc.auto=0: a fetch never prunes objects a running clone may borrow.
      await this.git(["clone", "--mirror", "--quiet", "-c", "gc.auto=0", "--", repoUrl, mirror]);
      return true;
    } catch (error) {
      this.opts.logger.info(
        { err: error, mirror: name },
        "repo cache: not cached (cannot clone without a credential?)",
      );
      rmSync(mirror, { recursive: true, force: true });
      return false;
    }
  }

  private readonly mirrorGit: MirrorGit = {
    output: async (args) => (await this.git(args)).stdout,
    spawn: (args) => spawn("git", args, { env: this.env(), stdio: ["pipe", "pipe", "ignore"] }),
  };

  private git(args: string[]) {
    return run("git", ["-c", "credential.helper=", "-c", "core.askPass=", ...args], {
      env: this.env(),
      timeout: this.opts.fetchTimeoutMs ?? 300_000,
    });
  }

  /**
   * No credential, no prompt; protocol v0: a mirror wants every ref, which v0 advertises in the
   * first exchange (v2 lists them in a second one), and git maintenance never runs on its own.
   */
  private env() {
    return {
      PATH: this.searchPath,
      GIT_TERMINAL_PROMPT: "0",
      HOME: this.opts.dir,
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_0: "protocol.version",
      GIT_CONFIG_VALUE_0: "0",
      GIT_CONFIG_KEY_1: "maintenance.auto",
      GIT_CONFIG_VALUE_1: "false",
    };
  }
}
