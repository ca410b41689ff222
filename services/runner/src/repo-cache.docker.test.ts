// The repo cache against the real Docker engine, the test agent image and a git server on 127.0.0.1.
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { DockerDriver } from "./docker.driver";
import type { RunHandle } from "./driver";
import { forEachLine } from "./lines";
import { CACHE_MOUNT, RepoCache } from "./repo-cache";
import { planRun } from "./run-plan";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./testing/agent-image";
import { runSpec, testConfig } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";

jest.setTimeout(180_000);

const RUNNER_ID = "repo-cache-test";
let git: GitServer;
let image: string;
let cacheDir: string;
let driver: DockerDriver;

async function runToEnd(handle: RunHandle) {
  const stderr: string[] = [];
  await Promise.all([
    forEachLine(handle.stdout, () => {}),
    forEachLine(handle.stderr, (l) => stderr.push(l)),
  ]);
  const exit = await handle.wait();
  await handle.dispose();
  return { exit, stderr: stderr.join("\n") };
}

/** By default a shell run that records which objects store its clone borrowed (pushed as alt.txt). */
function start(
  repo: string,
  prompt = "cat .git/objects/info/alternates > alt.txt 2>/dev/null || echo none > alt.txt",
) {
  const spec = runSpec({
    agentType: "shell",
    prompt,
    repoUrl: git.url(repo),
    image,
  });
  const config = testConfig({ OPTIO_RUNNER_ID: RUNNER_ID });
  return { spec, handle: driver.start(planRun(spec, { config, paths: driver.paths(), gitCredentials: {} })) };
}

const pushedFile = (repo: string, branch: string, file: string) =>
  git.git(repo, ["show", `${branch}:${file}`]).trim();
const borrowed = (repo: string, branch: string) => pushedFile(repo, branch, "alt.txt");

beforeAll(async () => {
  image = testAgentImage();
  git = await startGitServer(null);
  cacheDir = mkdtempSync(path.join(os.tmpdir(), "optio-repo-cache-"));
  chmodSync(cacheDir, 0o755); // the container's user reads it (read-only mount)
  const config = testConfig({
    OPTIO_RUNNER_NETWORK: "host",
    OPTIO_RUNNER_ID: RUNNER_ID,
    OPTIO_RUNNER_REPO_CACHE: cacheDir,
  });
  driver = new DockerDriver({ config, logger: pino({ level: "silent" }) });
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const unit of await driver.list()) await driver.remove(unit.id);
  await git.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe("repo cache", () => {
  it("two runs of one repository at once share one mirror and borrow its objects", async () => {
    git.createRepo("shared");
    const a = start("shared");
    const b = start("shared");
    const [ra, rb] = await Promise.all([a.handle.then(runToEnd), b.handle.then(runToEnd)]);
    expect([ra.exit.exitCode, rb.exit.exitCode]).toEqual([0, 0]);
    const mirror = RepoCache.nameOf(git.url("shared"));
    expect(readdirSync(cacheDir)).toEqual([mirror]);
    for (const run of [a, b])
      expect(borrowed("shared", run.spec.branchName)).toBe(`${CACHE_MOUNT}/${mirror}/objects`);
  });

  it("a deleted mirror is rebuilt; a corrupted one is rebuilt and the run still clones", async () => {
    git.createRepo("fragile");
    const mirror = path.join(cacheDir, RepoCache.nameOf(git.url("fragile")));
    expect((await runToEnd(await start("fragile").handle)).exit.exitCode).toBe(0);

    rmSync(mirror, { recursive: true, force: true });
    const afterDelete = start("fragile");
    expect((await runToEnd(await afterDelete.handle)).exit.exitCode).toBe(0);
    expect(readdirSync(mirror)).toContain("objects");
    expect(borrowed("fragile", afterDelete.spec.branchName)).toContain(CACHE_MOUNT);

    // Every object gone (refs left pointing at nothing): the fetch fails and the mirror is re-cloned.
    rmSync(path.join(mirror, "objects"), { recursive: true, force: true });
    const afterCorrupt = start("fragile");
    expect((await runToEnd(await afterCorrupt.handle)).exit.exitCode).toBe(0);
    expect(borrowed("fragile", afterCorrupt.spec.branchName)).toContain(CACHE_MOUNT);
    expect(readdirSync(path.join(mirror, "objects")).length).toBeGreaterThan(0);
  });

  it("a run sees its own repository's mirror and no other", async () => {
    git.createRepo("private-a");
    git.createRepo("private-b");
    expect((await runToEnd(await start("private-a").handle)).exit.exitCode).toBe(0);
    const run = start("private-b", `ls -A ${CACHE_MOUNT} > seen.txt`);
    expect((await runToEnd(await run.handle)).exit.exitCode).toBe(0);
    expect(readdirSync(cacheDir)).toContain(RepoCache.nameOf(git.url("private-a")));
    expect(pushedFile("private-b", run.spec.branchName, "seen.txt")).toBe(
      RepoCache.nameOf(git.url("private-b")),
    );
  });
});
