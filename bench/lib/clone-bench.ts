// Clone time of a generated repository (BENCH_REPO_FILES files, each 5,400 random bytes in base64:
// 7.2 KB of text that compresses to 5.4 KB; 10,000 files ≈ 53 MB of .git, the size printed is the
// plain clone's) served over the git server's HTTP. Both clones are a run's first step, the
// entrypoint's own optio-clone: without the repo cache (a plain clone from the server), and on the
// repository's later runs with it (the runner's mirror fetch, then optio-clone from the mirror).
// Medians of `rounds` of each.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { RepoCache } from "../../services/runner/src/repo-cache";
import type { GitServer } from "../../services/runner/src/testing/git-server";
import { repoRoot } from "./stack";

const silent = { info: () => {}, warn: () => {} } as unknown as ConstructorParameters<
  typeof RepoCache
>[0]["logger"];
// Asynchronous: the git server answers from this same process, so a synchronous git would block it.
const run = promisify(execFile);
const CLONE = path.join(repoRoot, "deploy/images/agent/optio-clone");
const FILE_BYTES = 5_400;
const git = (cwd: string, ...args: string[]) => run("git", args, { cwd, maxBuffer: 64 << 20 });

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function cloneBench(server: GitServer, files: number, rounds: number) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "optio-clone-bench-"));
  try {
    server.createRepo("big");
    const seed = path.join(tmp, "seed");
    await git(tmp, "clone", "--quiet", server.url("big"), seed);
    for (let i = 0; i < files; i++) {
      const dir = path.join(seed, `d${i % 100}`);
      if (i < 100) mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `f${i}.txt`), randomBytes(FILE_BYTES).toString("base64"));
    }
    await git(seed, "add", "-A");
    await git(
      seed,
      "-c",
      "gc.auto=0",
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

    const cache = new RepoCache({ dir: path.join(tmp, "cache"), logger: silent });
    const first = await cache.prepare(server.url("big"), "main"); // the first run of the repository
    first!.release();
    await cache.settled(); // its checkout pack, built in the background before the second run comes
    const runClone = (name: string, reference?: string) =>
      timed(() =>
        run(CLONE, [path.join(tmp, name)], {
          env: {
            PATH: process.env.PATH,
            HOME: tmp,
            OPTIO_REPO_URL: server.url("big"),
            OPTIO_REPO_BRANCH: "main",
            OPTIO_BRANCH_NAME: `optio/bench-${name}`,
            ...(reference ? { OPTIO_REPO_REFERENCE: reference } : {}),
          },
        }),
      );
    // `rounds` of each, alternated so both see the same machine; a single clone swings by ±30 %.
    // Each starts on a settled disk (sync): a clone writes 70-130 MB, and ext4 made the next one's
    // 10,000 file creations wait for that writeback (a 290 ms checkout took 1.0-2.2 s right after).
    const plain: number[] = [];
    const fetch: number[] = [];
    const cachedClone: number[] = [];
    for (let round = 0; round < rounds; round++) {
      await run("sync", []);
      plain.push(await runClone(`plain-${round}`));
      await run("sync", []);
      const started = performance.now();
      const later = await cache.prepare(server.url("big"), "main"); // a later run: the mirror brought up to date
      fetch.push(performance.now() - started);
      cachedClone.push(await runClone(`cached-${round}`, path.join(tmp, "cache", later!.name)));
      later!.release();
    }
    const sizeMb = Number(
      execFileSync("du", ["-sm", path.join(tmp, "plain-0", ".git")], { encoding: "utf8" }).split("\t")[0],
    );
    await cache.close();
    return {
      files,
      sizeMb,
      rounds,
      plainMs: median(plain),
      fetchMs: median(fetch),
      cachedCloneMs: median(cachedClone),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
