// TEST ONLY. The double's repositories are real bare repositories on the test git server: PR heads
// are real branches, mergeability is a real `git merge-tree`, a merge writes a real commit.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { GitServer } from "../../../../runner/src/testing/git-server";

const run = promisify(execFile);

type Identity = { name: string; email: string };

export class GitBacking {
  /** Results that depend only on commit ids (immutable), so each git process runs once. */
  private readonly trees = new Map<string, string | null>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly server: GitServer) {}

  /** The git server's repository name for owner/name. */
  static repoName(owner: string, name: string): string {
    return `${owner}/${name}`.toLowerCase();
  }

  /** Commit sha of `refs/heads/<branch>`, or null when the branch does not exist. */
  branchSha(repo: string, branch: string): string | null {
    // Read from the ref files (no process per call: the double reads refs on every request).
    const dir = this.server.dir(repo);
    const loose = path.join(dir, "refs", "heads", ...branch.split("/"));
    if (existsSync(loose)) return readFileSync(loose, "utf8").trim();
    const packed = path.join(dir, "packed-refs");
    if (!existsSync(packed)) return null;
    const line = readFileSync(packed, "utf8")
      .split("\n")
      .find((entry) => entry.endsWith(` refs/heads/${branch}`));
    return line ? line.split(" ")[0]! : null;
  }

  /** Commits on `head` that `base` lacks. */
  aheadBy(repo: string, base: string, head: string): number {
    const key = `${repo} ${base} ${head}`;
    if (!this.counts.has(key)) {
      this.counts.set(key, Number(this.server.git(repo, ["rev-list", "--count", `${base}..${head}`]).trim()));
    }
    return this.counts.get(key)!;
  }

  /** The merged tree of base and head, or null on a conflict. */
  mergedTree(repo: string, baseSha: string, headSha: string): string | null {
    const key = `${repo} ${baseSha} ${headSha}`;
    if (!this.trees.has(key)) {
      let tree: string | null;
      try {
        tree = this.server.git(repo, ["merge-tree", "--write-tree", baseSha, headSha]).split("\n")[0]!.trim();
      } catch {
        tree = null;
      }
      this.trees.set(key, tree);
    }
    return this.trees.get(key)!;
  }

  /**
   * Merges head into base the way `method` does (merge: two parents; squash and rebase: one new
   * commit on base) and moves the base branch. Returns the new commit's sha, or null on a conflict.
   */
  merge(
    repo: string,
    input: {
      base: string;
      baseSha: string;
      headSha: string;
      method: "merge" | "squash" | "rebase";
      message: string;
    },
    who: Identity,
  ): string | null {
    const tree = this.mergedTree(repo, input.baseSha, input.headSha);
    if (!tree) return null;
    const parents =
      input.method === "merge" ? ["-p", input.baseSha, "-p", input.headSha] : ["-p", input.baseSha];
    const sha = this.server
      .git(repo, [
        "-c",
        `user.name=${who.name}`,
        "-c",
        `user.email=${who.email}`,
        "commit-tree",
        tree,
        ...parents,
        "-m",
        input.message,
      ])
      .trim();
    this.server.git(repo, ["update-ref", `refs/heads/${input.base}`, sha, input.baseSha]);
    return sha;
  }
}

/**
 * Pushes one commit writing `path` on `branch` (on top of `parent`) through a scratch clone.
 * Asynchronous: the git server answering the clone runs in this same process.
 */
export async function commitFile(
  cloneUrl: string,
  input: { parent: string; branch: string; path: string; content: string; message?: string },
): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "optio-gh-commit-"));
  const git = async (args: string[]) =>
    (
      await run("git", ["-c", "user.name=octocat", "-c", "user.email=octocat@github.test", ...args], {
        cwd: dir,
        encoding: "utf8",
      })
    ).stdout;
  try {
    await git(["clone", "--quiet", cloneUrl, "."]);
    await git(["checkout", "--quiet", "-B", input.branch, input.parent]);
    mkdirSync(path.dirname(path.join(dir, input.path)), { recursive: true });
    writeFileSync(path.join(dir, input.path), input.content);
    await git(["add", "--", input.path]);
    await git(["commit", "--quiet", "-m", input.message ?? `update ${input.path}`]);
    await git(["push", "--quiet", "--force", "origin", `HEAD:refs/heads/${input.branch}`]);
    return (await git(["rev-parse", "HEAD"])).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
