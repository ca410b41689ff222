// The runner's repo cache: one bare mirror per repository in OPTIO_RUNNER_REPO_CACHE, fetched before
// each run of that repository (never cloned again), which the run's clone borrows objects from
// (`git clone --reference-if-able`, the cache mounted read-only). It never holds a credential: it
// fetches with none, so a repository that needs one is simply not cached. A mirror that cannot be
// fetched (corrupted, deleted meanwhile) is removed and cloned afresh; failing that, the run clones
// without it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";

const run = promisify(execFile);
/** Where the cache is mounted (read-only) in run containers. */
export const CACHE_MOUNT = "/optio/cache";

export class RepoCache {
  /** One fetch at a time per mirror: two runs of a repository share one up-to-date mirror. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly searchPath = process.env.PATH; // read once, at boot

  constructor(private readonly opts: { dir: string; logger: Logger; fetchTimeoutMs?: number }) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
  }

  /** The mirror's directory name for a repository URL (no URL text on disk). */
  static nameOf(repoUrl: string): string {
    return `${createHash("sha256").update(repoUrl).digest("hex").slice(0, 32)}.git`;
  }

  /** Brings the repository's mirror up to date; its name in the cache, or null when it has none. */
  prepare(repoUrl: string): Promise<string | null> {
    const name = RepoCache.nameOf(repoUrl);
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.update(repoUrl, name));
    this.locks.set(name, next);
    void next.finally(() => {
      if (this.locks.get(name) === next) this.locks.delete(name);
    });
    return next;
  }

  private async update(repoUrl: string, name: string): Promise<string | null> {
    const mirror = path.join(this.opts.dir, name);
    if (existsSync(mirror)) {
      try {
        await this.git(["-C", mirror, "fetch", "--prune", "--quiet", "origin"]);
        return name;
      } catch (error) {
        this.opts.logger.warn(
          { err: error, mirror: name },
          "repo cache: fetch failed; rebuilding the mirror",
        );
      }
    }
    rmSync(mirror, { recursive: true, force: true });
    try {
      // gc.auto=0: a fetch never prunes objects a running clone may borrow.
      await this.git(["clone", "--mirror", "--quiet", "-c", "gc.auto=0", "--", repoUrl, mirror]);
      return name;
    } catch (error) {
      this.opts.logger.info(
        { err: error, mirror: name },
        "repo cache: not cached (cannot clone without a credential?)",
      );
      rmSync(mirror, { recursive: true, force: true });
      return null;
    }
  }

  private git(args: string[]) {
    return run("git", ["-c", "credential.helper=", "-c", "core.askPass=", ...args], {
      env: { PATH: this.searchPath, GIT_TERMINAL_PROMPT: "0", HOME: this.opts.dir },
      timeout: this.opts.fetchTimeoutMs ?? 300_000,
    });
  }
}
