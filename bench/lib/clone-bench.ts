// Clone time of a generated repository (BENCH_REPO_FILES files of 5.5 KB of random bytes: 10,000
// files ≈ 55 MB by default) over the git server's HTTP: a plain clone, beside the second run of a
// repo-cache run (the mirror fetched, then a clone borrowing its objects: what the entrypoint does).
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { RepoCache } from "../../services/runner/src/repo-cache";
import type { GitServer } from "../../services/runner/src/testing/git-server";

const silent = { info: () => {}, warn: () => {} } as unknown as ConstructorParameters<
  typeof RepoCache
>[0]["logger"];
// Asynchronous: the git server answers from this same process, so a synchronous git would block it.
const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) => run("git", args, { cwd, maxBuffer: 64 << 20 });

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function cloneBench(server: GitServer, files: number) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "optio-clone-bench-"));
  try {
    server.createRepo("big");
    const seed = path.join(tmp, "seed");
    await git(tmp, "clone", "--quiet", server.url("big"), seed);
    for (let i = 0; i < files; i++) {
      const dir = path.join(seed, `d${i % 100}`);
      if (i < 100) mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `f${i}.txt`), randomBytes(4096).toString("base64"));
    }
    await git(seed, "add", "-A");
    await git(
      seed,
      "-c",
      "user.name=bench",
      "-c",
      "user.email=bench@localhost",
      "commit",
      "--quiet",
      "-m",
      "big",
    );
    await git(seed, "push", "--quiet", "origin", "HEAD:main");
    const size = Number(
      execFileSync("du", ["-sm", path.join(seed, ".git")], { encoding: "utf8" }).split("\t")[0],
    );

    const cache = new RepoCache({ dir: path.join(tmp, "cache"), logger: silent });
    const mirror = await cache.prepare(server.url("big")); // the first run of the repository
    const clone = (name: string, ...extra: string[]) =>
      timed(() =>
        git(
          tmp,
          "clone",
          "--quiet",
          "--single-branch",
          "--branch",
          "main",
          ...extra,
          server.url("big"),
          name,
        ),
      );
    const plain = await clone("plain");
    const started = performance.now();
    await cache.prepare(server.url("big"));
    const fetchMs = performance.now() - started;
    const borrowed = await clone("cached", "--reference-if-able", path.join(tmp, "cache", mirror!));
    return { files, sizeMb: size, plainMs: plain, fetchMs, cachedCloneMs: borrowed };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
