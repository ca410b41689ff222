// The runner's repo cache: one bare mirror per repository in OPTIO_RUNNER_REPO_CACHE, fetched before
// each run of that repository (never cloned again), which the run clones from with no server contact
// (deploy/images/agent/optio-clone: objects borrowed through alternates, the cache mounted read-only).
// It never holds a credential: it fetches with none, so a repository that needs one is simply not
// cached. A mirror that cannot be fetched (corrupted, deleted meanwhile) is removed and cloned
// afresh; failing that, the run clones without it.
//
// Checkout pack: beside the history (compressed, deltified, as the server sent it), the mirror holds
// the objects of the run's branch tip once more, uncompressed and whole, in a pack of their own that
// git searches first (the newest). A run's checkout then copies bytes instead of inflating them: the
// larger part of a cached clone's time after the files' own writing. It is rebuilt when the branch
// moved; the one it replaces is removed (its objects are all in the history too).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";

const run = promisify(execFile);
/** Where the cache is mounted (read-only) in run containers. */
export const CACHE_MOUNT = "/optio/cache";
/** In a mirror: "<commit> <pack hash>" of its checkout pack. */
const CHECKOUT_PACK_RECORD = "optio-checkout-pack";

export class RepoCache {
  /** One update at a time per mirror: two runs of a repository share one up-to-date mirror. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly searchPath = process.env.PATH; // read once, at boot

  constructor(private readonly opts: { dir: string; logger: Logger; fetchTimeoutMs?: number }) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
  }

  /** The mirror's directory name for a repository URL (no URL text on disk). */
  static nameOf(repoUrl: string): string {
    return `${createHash("sha256").update(repoUrl).digest("hex").slice(0, 32)}.git`;
  }

  /**
   * Brings the repository's mirror up to date and its checkout pack to `branch`'s tip; the mirror's
   * name in the cache, or null when it has none.
   */
  prepare(repoUrl: string, branch: string): Promise<string | null> {
    const name = RepoCache.nameOf(repoUrl);
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.update(repoUrl, name, branch));
    this.locks.set(name, next);
    void next.finally(() => {
      if (this.locks.get(name) === next) this.locks.delete(name);
    });
    return next;
  }

  private async update(repoUrl: string, name: string, branch: string): Promise<string | null> {
    const mirror = path.join(this.opts.dir, name);
    if (!(await this.fetch(mirror, name)) && !(await this.clone(repoUrl, mirror, name))) return null;
    await this.packCheckout(mirror, branch).catch((error: unknown) =>
      this.opts.logger.warn({ err: error, mirror: name }, "repo cache: no checkout pack"),
    );
    return name;
  }

  private async fetch(mirror: string, name: string): Promise<boolean> {
    if (!existsSync(mirror)) return false;
    try {
      await this.git(["-C", mirror, "fetch", "--prune", "--quiet", "--no-write-fetch-head", "origin"]);
      return true;
    } catch (error) {
      this.opts.logger.warn({ err: error, mirror: name }, "repo cache: fetch failed; rebuilding the mirror");
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

  private async packCheckout(mirror: string, branch: string): Promise<void> {
    const record = path.join(mirror, CHECKOUT_PACK_RECORD);
    const [packedCommit, oldPack] = existsSync(record) ? readFileSync(record, "utf8").split(" ") : [];
    const tip = (
      await this.git(["-C", mirror, "rev-parse", "--verify", `refs/heads/${branch}^{commit}`])
    ).stdout.trim();
    if (tip === packedCommit) return;
    const pack = await this.writeTreePack(mirror, tip);
    writeFileSync(record, `${tip} ${pack}`);
    if (oldPack && oldPack !== pack)
      for (const ext of ["idx", "pack", "rev"])
        rmSync(path.join(mirror, "objects", "pack", `pack-${oldPack}.${ext}`), { force: true });
  }

  /** Packs the commit's tree uncompressed and without deltas; the new pack's hash. */
  private async writeTreePack(mirror: string, commit: string): Promise<string> {
    const env = this.env();
    const objects = spawn("git", ["-C", mirror, "rev-list", "--objects", "--no-walk", commit], {
      env,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const packer = spawn(
      "git",
      [
        ...["-C", mirror, "-c", "pack.compression=0", "pack-objects", "--quiet"],
        ...["--window=0", "--no-reuse-object", path.join(mirror, "objects", "pack", "pack")],
      ],
      { env, stdio: ["pipe", "pipe", "ignore"] },
    );
    objects.stdout.pipe(packer.stdin);
    let hash = "";
    packer.stdout.on("data", (chunk: Buffer) => (hash += chunk.toString()));
    await Promise.all([exited(objects, "rev-list"), exited(packer, "pack-objects")]);
    return hash.trim();
  }

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

function exited(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}`)),
    );
  });
}
