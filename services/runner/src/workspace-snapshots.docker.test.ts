// Workspace snapshots against the real Docker engine, the test agent image and a git server on
// 127.0.0.1: runs made from a snapshot start where a clone would have left them.
import { randomUUID } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { DockerDriver } from "./docker.driver";
import type { RunHandle } from "./driver";
import { RepoCache } from "./repo-cache";
import { planRun } from "./run-plan";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./testing/agent-image";
import { runSpec, testConfig } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";
import { runToEnd } from "./testing/run-to-end";
import { until } from "./testing/until";

jest.setTimeout(180_000);

const RUNNER_ID = "snapshot-test";
let git: GitServer;
let image: string;
let cacheDir: string;
let driver: DockerDriver;

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();

/** This runner's snapshot images and the commit each holds, newest first. */
function snapshotImages() {
  const filter = `label=optio.workspace.runner=${RUNNER_ID}`;
  const ids = docker("images", "--quiet", "--no-trunc", "--filter", filter).split("\n").filter(Boolean);
  return ids.map((id) => ({
    id,
    commit: docker("image", "inspect", "--format", '{{index .Config.Labels "optio.workspace.commit"}}', id),
  }));
}

/** Runs `prompt` (a shell agent) in the repository to the end; its exit, stderr and container image. */
async function runInRepo(repo: string, prompt: string, using = driver) {
  const spec = runSpec({
    agentType: "shell",
    prompt,
    repoUrl: git.url(repo),
    branchName: `optio/${randomUUID().slice(0, 8)}-snap`,
    image,
  });
  const config = testConfig({ OPTIO_RUNNER_ID: RUNNER_ID });
  const handle: RunHandle = await using.start(
    planRun(spec, { config, paths: using.paths(), gitCredentials: {} }),
  );
  const createdFrom = docker("inspect", "--format", "{{.Image}}", handle.id);
  const { exit, stderr } = await runToEnd(handle);
  await using.snapshotsSettled(); // the snapshot made after it, if any
  const pushed = (file: string) => git.git(repo, ["show", `${spec.branchName}:${file}`]).trim();
  return { exitCode: exit.exitCode, stderr, createdFrom, pushed };
}

/** What a run reports of its clone: HEAD, uncommitted changes, origin, branch, upstream of main. */
const DESCRIBE_CLONE = [
  'printf "%s" "$(git status --porcelain)" > /tmp/status',
  "git rev-parse HEAD > head.txt",
  "mv /tmp/status status.txt",
  "git remote get-url origin > origin.txt",
  "git rev-parse --abbrev-ref HEAD > branch.txt",
  "git rev-parse main > main.txt",
  "git config branch.main.merge > upstream.txt",
  "git tag --list > tags.txt",
  "cat news.txt > news.txt.seen 2>/dev/null || echo none > news.txt.seen",
].join("; ");

/** Removes this runner's snapshot images (an earlier test process's too). */
const removeSnapshots = () => {
  for (const { id } of snapshotImages()) docker("rmi", "--force", id);
};

beforeAll(async () => {
  removeSnapshots();
  image = testAgentImage();
  git = await startGitServer(null);
  cacheDir = mkdtempSync(path.join(os.tmpdir(), "optio-snapshot-cache-"));
  chmodSync(cacheDir, 0o755); // the container's user reads it (read-only mount)
  driver = new DockerDriver({
    config: testConfig({
      OPTIO_RUNNER_NETWORK: "host",
      OPTIO_RUNNER_ID: RUNNER_ID,
      OPTIO_RUNNER_REPO_CACHE: cacheDir,
      OPTIO_RUNNER_WORKSPACE_SNAPSHOT_MIN_AGE_S: "0", // a new snapshot whenever the branch moved
    }),
    logger: pino({ level: "silent" }),
  });
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const unit of await driver.list()) await driver.remove(unit.id);
  await driver.close();
  removeSnapshots();
  await git.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe("workspace snapshots", () => {
  it("a later cold run starts from its repository's snapshot, brought to the server's tip as a clone would be", async () => {
    git.createRepo("snap");
    const first = await runInRepo("snap", DESCRIBE_CLONE);
    expect(first.exitCode).toBe(0);
    expect(first.createdFrom).toBe(docker("image", "inspect", "--format", "{{.Id}}", image));
    const initial = first.pushed("head.txt");
    expect(snapshotImages()).toEqual([{ id: expect.any(String), commit: initial }]);
    const [snapshot] = snapshotImages();

    // The branch moves after the snapshot was made: the run's checkout brings it forward.
    const moved = git.commitFile("snap", "news.txt", "after the snapshot");
    git.git("snap", ["tag", "v2", moved]);
    const second = await runInRepo("snap", DESCRIBE_CLONE);
    expect(second.exitCode).toBe(0);
    expect(second.createdFrom).toBe(snapshot!.id);
    for (const run of [first, second]) {
      expect(run.pushed("status.txt")).toBe(""); // no stray change: the index matches the files
      expect(run.pushed("origin.txt")).toBe(git.url("snap"));
      expect(run.pushed("upstream.txt")).toBe("refs/heads/main");
      expect(run.pushed("branch.txt")).toMatch(/^optio\/.+-snap$/);
    }
    expect(second.pushed("head.txt")).toBe(moved);
    expect(second.pushed("main.txt")).toBe(moved);
    expect(second.pushed("news.txt.seen")).toBe("after the snapshot");
    expect([first.pushed("tags.txt"), second.pushed("tags.txt")]).toEqual(["", "v2"]); // as a clone's
    expect(second.stderr).not.toContain("snapshot unusable");

    // Made anew after the run that saw the branch move; the replaced image is gone.
    expect(snapshotImages()).toEqual([{ id: expect.any(String), commit: moved }]);
    expect(snapshotImages()[0]!.id).not.toBe(snapshot!.id);
  });

  it("a snapshot whose objects the mirror no longer has is given up: the run clones, and a new one is made", async () => {
    git.createRepo("rewritten");
    expect((await runInRepo("rewritten", "true")).exitCode).toBe(0);
    const [snapshot] = snapshotImages().filter(
      ({ commit }) => commit === git.git("rewritten", ["rev-parse", "main"]).trim(),
    );
    expect(snapshot).toBeDefined();

    // A new history replaces the branch, and the mirror is rebuilt from it: the snapshot's commit is nowhere.
    const rewritten = git.commitFile("rewritten", "fresh.txt", "a new history", { orphan: true });
    rmSync(path.join(cacheDir, RepoCache.nameOf(git.url("rewritten"))), { recursive: true, force: true });
    const run = await runInRepo(
      "rewritten",
      "git rev-parse HEAD > head.txt; git ls-tree --name-only HEAD > files.txt",
    );
    expect(run.exitCode).toBe(0);
    expect(run.createdFrom).toBe(snapshot!.id);
    expect(run.stderr).toContain("workspace snapshot unusable; cloning without it");
    expect(run.pushed("head.txt")).toBe(rewritten);
    expect(run.pushed("files.txt")).toBe("fresh.txt");
    expect(snapshotImages().map(({ commit }) => commit)).toContain(rewritten);
  });

  it("with a warm pool, the pool's containers for the repository are made from its snapshot", async () => {
    const pooled = new DockerDriver({
      config: testConfig({
        OPTIO_RUNNER_NETWORK: "host",
        OPTIO_RUNNER_ID: RUNNER_ID,
        OPTIO_RUNNER_REPO_CACHE: cacheDir,
        OPTIO_RUNNER_WORKSPACE_SNAPSHOT_MIN_AGE_S: "0", // a new snapshot whenever the branch moved
        OPTIO_RUNNER_WARM_POOL: "1",
      }),
      logger: pino({ level: "silent" }),
    });
    try {
      git.createRepo("pooled");
      expect((await runInRepo("pooled", "true", pooled)).exitCode).toBe(0);
      const head = git.git("pooled", ["rev-parse", "main"]).trim();
      const [snapshot] = snapshotImages().filter(({ commit }) => commit === head);
      expect(snapshot).toBeDefined();
      // This run re-targets the pool to the snapshot (it starts cold, from the snapshot).
      const retargeting = await runInRepo("pooled", "true", pooled);
      expect(retargeting.createdFrom).toBe(snapshot!.id);
      await until(() => pooled.poolStats()?.ready === 1);
      const used = pooled.poolStats()!.used;

      const warm = await runInRepo(
        "pooled",
        `${DESCRIBE_CLONE}; git ls-tree --name-only HEAD > files.txt`,
        pooled,
      );
      expect(warm.exitCode).toBe(0);
      expect(pooled.poolStats()!.used).toBe(used + 1); // it took the pool's container
      expect(warm.createdFrom).toBe(snapshot!.id);
      expect(warm.pushed("head.txt")).toBe(head);
      expect(warm.pushed("status.txt")).toBe("");
      expect(warm.pushed("files.txt")).toBe("README.md");
    } finally {
      for (const unit of await pooled.list()) await pooled.remove(unit.id);
      await pooled.close();
    }
  });
});
