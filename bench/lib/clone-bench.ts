// Clone time of a generated repository (BENCH_REPO_FILES files, each 5,400 random bytes in base64:
// 7.2 KB of text that compresses to 5.4 KB; 10,000 files ≈ 53 MB of .git, the size printed is the
// plain clone's) served over the git server's HTTP. Each clone is a run's first step, the agent
// image's own optio-clone, timed inside a container of the test agent image (so all three pay the
// same container costs, which are not counted): without the repo cache (a plain clone from the
// server); on a later run with the cache (the runner's mirror fetch, then optio-clone from the
// mirror); and on a later run from the repository's workspace snapshot (the same fetch, then
// optio-clone bringing the snapshot's checkout to the tip). The branch moves by a few files after the
// snapshot is made, so its runs check out a real change. Medians of `rounds` of each.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../../services/runner/src/config";
import { connectDocker } from "../../services/runner/src/docker-engine";
import { DockerSnapshots } from "../../services/runner/src/docker-snapshots";
import { CACHE_MOUNT, RepoCache } from "../../services/runner/src/repo-cache";
import type { GitServer } from "../../services/runner/src/testing/git-server";
import { WorkspaceSnapshots } from "../../services/runner/src/workspace-snapshots";

const silent = { info: () => {}, warn: () => {} } as unknown as ConstructorParameters<
  typeof RepoCache
>[0]["logger"];
// Asynchronous: the git server answers from this same process, so a synchronous git would block it.
const run = promisify(execFile);
const FILE_BYTES = 5_400;
const RUNNER_ID = "bench-clone";
const git = (cwd: string, ...args: string[]) =>
  run("git", ["-c", "user.name=bench", "-c", "user.email=bench@localhost", ...args], {
    cwd,
    maxBuffer: 64 << 20,
  });

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * optio-clone in a fresh container of `image` (removed after); the clone's own time inside it (ms),
 * read with bash's clock (no process started for it), and the whole `docker run`'s.
 */
async function cloneInContainer(
  image: string,
  env: Record<string, string>,
  mirror?: { host: string; name: string },
): Promise<{ cloneMs: number; containerMs: number }> {
  const args = ["run", "--rm", "--network", "host", "--user", "1000:1000", "--entrypoint", "bash"];
  if (mirror) args.push("--volume", `${mirror.host}:${CACHE_MOUNT}/${mirror.name}:ro`);
  for (const [name, value] of Object.entries(env)) args.push("--env", `${name}=${value}`);
  const script =
    "s=$EPOCHREALTIME; /usr/local/lib/optio/optio-clone /workspace/repo >&2 || exit 1; e=$EPOCHREALTIME; " +
    'echo "$s $e"';
  let stdout = "";
  const containerMs = await timed(async () => {
    stdout = (await run("docker", [...args, image, "-c", script])).stdout;
  });
  const [started, ended] = stdout.trim().split(" ").map(Number);
  return { cloneMs: (ended! - started!) * 1000, containerMs };
}

/** Writes `files` generated files in a clone and pushes them as one commit on main. */
async function pushGenerated(seed: string, files: number): Promise<void> {
  for (let i = 0; i < files; i++) {
    const dir = path.join(seed, `d${i % 100}`);
    if (i < 100) mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `f${i}.txt`), randomBytes(FILE_BYTES).toString("base64"));
  }
  await git(seed, "add", "-A");
  await git(seed, "-c", "gc.auto=0", "commit", "--quiet", "-m", `${files} files`);
  await git(seed, "push", "--quiet", "origin", "HEAD:main");
}

export async function cloneBench(server: GitServer, image: string, files: number, rounds: number) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "optio-clone-bench-"));
  const cacheDir = path.join(tmp, "cache");
  try {
    server.createRepo("big");
    const seed = path.join(tmp, "seed");
    await git(tmp, "clone", "--quiet", server.url("big"), seed);
    await pushGenerated(seed, files);

    const cache = new RepoCache({ dir: cacheDir, logger: silent });
    chmodSync(cacheDir, 0o755); // the container's user reads the mirror
    const first = await cache.prepare(server.url("big"), "main"); // the first run of the repository
    first!.release();
    await cache.settled(); // its checkout pack, built in the background before the second run comes
    const config = loadConfig({ OPTIO_RUNNER_ID: RUNNER_ID, OPTIO_RUNNER_REPO_CACHE: cacheDir });
    const snapshots = new WorkspaceSnapshots({
      engine: new DockerSnapshots({
        docker: connectDocker(config),
        config,
        dest: "/workspace/repo",
        limits: { memoryMb: 2048, cpus: 1, pids: 512 },
      }),
      mirrors: cache,
      logger: silent,
      minAgeMs: config.OPTIO_RUNNER_WORKSPACE_SNAPSHOT_MIN_AGE_S * 1000,
      max: config.OPTIO_RUNNER_WORKSPACE_SNAPSHOTS_MAX,
    });
    const target = { mirror: first!.name, branch: "main", image };
    const snapshotBuildMs = await timed(async () => {
      snapshots.refresh(target); // as after the repository's first run
      await snapshots.settled();
    });
    const snapshotImage = await snapshots.imageFor(target);
    if (!snapshotImage) throw new Error("no workspace snapshot was made");
    // The branch moves after the snapshot: runs from it check out the change.
    for (let i = 0; i < 20; i++) writeFileSync(path.join(seed, `d${i}`, `f${i}.txt`), `changed ${i}\n`);
    await git(seed, "commit", "--quiet", "-am", "20 files changed");
    await git(seed, "push", "--quiet", "origin", "HEAD:main");

    const env = (name: string, viaMirror: string | null, snapshot = false) => ({
      OPTIO_REPO_URL: server.url("big"),
      OPTIO_REPO_BRANCH: "main",
      OPTIO_BRANCH_NAME: `optio/bench-${name}`,
      ...(viaMirror ? { OPTIO_REPO_REFERENCE: `${CACHE_MOUNT}/${viaMirror}` } : {}),
      ...(snapshot ? { OPTIO_WORKSPACE_SNAPSHOT: "1" } : {}),
    });
    /** A later run's mirror fetch (timed), then its clone in a container. */
    const laterRun = async (name: string, fromSnapshot: boolean) => {
      const started = performance.now();
      const hold = (await cache.prepare(server.url("big"), "main"))!;
      const fetchMs = performance.now() - started;
      try {
        const clone = await cloneInContainer(
          fromSnapshot ? snapshotImage : image,
          env(name, hold.name, fromSnapshot),
          {
            host: path.join(cacheDir, hold.name),
            name: hold.name,
          },
        );
        return { fetchMs, ...clone };
      } finally {
        hold.release();
      }
    };
    // `rounds` of each, alternated so all see the same machine; a single clone swings by ±30 %.
    // Each starts on a settled disk (sync): a clone writes 70-130 MB, and ext4 made the next one's
    // 10,000 file creations wait for that writeback (a 290 ms checkout took 1.0-2.2 s right after).
    const plain: Array<{ cloneMs: number; containerMs: number }> = [];
    const cached: Array<{ fetchMs: number; cloneMs: number; containerMs: number }> = [];
    const fromSnapshot: typeof cached = [];
    for (let round = 0; round < rounds; round++) {
      await run("sync", []);
      plain.push(await cloneInContainer(image, env(`plain-${round}`, null)));
      await run("sync", []);
      cached.push(await laterRun(`cached-${round}`, false));
      await run("sync", []);
      fromSnapshot.push(await laterRun(`snapshot-${round}`, true));
    }
    await cache.settled();
    const sizeMb = Number(
      execFileSync("du", ["-sm", path.join(seed, ".git")], { encoding: "utf8" }).split("\t")[0],
    );
    await snapshots.close();
    await cache.close();
    execFileSync("docker", ["rmi", "--force", snapshotImage]);
    const medians = <K extends string>(samples: Array<Record<K, number>>, ...keys: K[]) =>
      Object.fromEntries(keys.map((key) => [key, median(samples.map((s) => s[key]))])) as Record<K, number>;
    return {
      files,
      sizeMb,
      rounds,
      snapshotBuildMs,
      plain: medians(plain, "cloneMs", "containerMs"),
      cached: medians(cached, "fetchMs", "cloneMs", "containerMs"),
      snapshot: medians(fromSnapshot, "fetchMs", "cloneMs", "containerMs"),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
