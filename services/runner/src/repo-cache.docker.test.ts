// The repo cache against the real Docker engine, the test agent image and a git server on 127.0.0.1.
import { randomUUID } from "node:crypto";
import { execFile, execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
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
/** The entrypoint's clone step, run here on the host (the git server answers from this process). */
const CLONE = path.resolve(__dirname, "../../../deploy/images/agent/optio-clone");
const run = promisify(execFile);
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
  branchName = `optio/${randomUUID().slice(0, 8)}-cache`,
) {
  const spec = runSpec({
    agentType: "shell",
    prompt,
    repoUrl: git.url(repo),
    branchName,
    image,
  });
  const config = testConfig({ OPTIO_RUNNER_ID: RUNNER_ID });
  return { spec, handle: driver.start(planRun(spec, { config, paths: driver.paths(), gitCredentials: {} })) };
}

const pushedFile = (repo: string, branch: string, file: string) =>
  git.git(repo, ["show", `${branch}:${file}`]).trim();
const borrowed = (repo: string, branch: string) => pushedFile(repo, branch, "alt.txt");

/** Commits a file on the server's main (through its directory, not HTTP); the new commit. */
function pushFile(repo: string, file: string, content: string): string {
  const work = mkdtempSync(path.join(os.tmpdir(), "optio-push-"));
  const local = (...args: string[]) =>
    execFileSync("git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@test", ...args], {
      encoding: "utf8",
    }).trim();
  try {
    execFileSync("git", ["clone", "--quiet", git.dir(repo), work]);
    writeFileSync(path.join(work, file), content);
    local("add", file);
    local("commit", "--quiet", "-m", `${file} changed`);
    local("push", "--quiet", "origin", "HEAD:main");
    return local("rev-parse", "HEAD");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

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

  it("a run starts from the server's commit though the mirror was behind, and works against the server", async () => {
    git.createRepo("moving");
    expect((await runToEnd(await start("moving").handle)).exit.exitCode).toBe(0);
    // A commit lands on the server after the mirror was made: the mirror is behind when run 2 comes.
    const moved = pushFile("moving", "news.txt", "pushed meanwhile");
    const run = start(
      "moving",
      [
        "git rev-parse HEAD > base.txt",
        "cat .git/objects/info/alternates > alt.txt",
        "git remote get-url origin > origin.txt",
        "git fetch --quiet origin main && git rev-parse FETCH_HEAD > fetched.txt",
        `(touch ${CACHE_MOUNT}/*/probe 2>/dev/null && echo writable || echo read-only) > mirror.txt`,
      ].join("; "),
    );
    const { exit } = await runToEnd(await run.handle);
    expect(exit.exitCode).toBe(0);
    const branch = run.spec.branchName;
    expect(pushedFile("moving", branch, "base.txt")).toBe(moved);
    expect(pushedFile("moving", branch, "origin.txt")).toBe(git.url("moving"));
    expect(pushedFile("moving", branch, "fetched.txt")).toBe(moved);
    expect(pushedFile("moving", branch, "mirror.txt")).toBe("read-only");
    expect(borrowed("moving", branch)).toBe(`${CACHE_MOUNT}/${RepoCache.nameOf(git.url("moving"))}/objects`);
  });

  it("a run continues the task's branch an earlier run pushed, found in the mirror", async () => {
    git.createRepo("continued");
    const branch = `optio/${randomUUID().slice(0, 8)}-continued`;
    expect(
      (await runToEnd(await start("continued", "echo first > first.txt", branch).handle)).exit.exitCode,
    ).toBe(0);
    const second = start(
      "continued",
      "cat first.txt > second.txt; git rev-parse --abbrev-ref HEAD > on.txt",
      branch,
    );
    expect((await runToEnd(await second.handle)).exit.exitCode).toBe(0);
    expect(pushedFile("continued", branch, "second.txt")).toBe("first");
    expect(pushedFile("continued", branch, "on.txt")).toBe(branch);
  });

  it("keeps the branch tip's objects in a checkout pack, stored whole and uncompressed, replaced when the branch moves", async () => {
    git.createRepo("packed");
    const compressible = "optio ".repeat(20_000);
    const tip = pushFile("packed", "big.txt", compressible);
    const cache = new RepoCache({ dir: cacheDir, logger: pino({ level: "silent" }) });
    const mirror = path.join(cacheDir, (await cache.prepare(git.url("packed"), "main"))!);
    const checkoutPack = () => {
      const [commit, pack] = readFileSync(path.join(mirror, "optio-checkout-pack"), "utf8").split(" ");
      return { commit, pack: path.join(mirror, "objects", "pack", `pack-${pack}.pack`) };
    };
    const first = checkoutPack();
    expect(first.commit).toBe(tip);
    // verify-pack -v: "sha type size size-in-pack offset" per whole object (a delta adds two columns).
    const objects = git
      .git("packed", ["verify-pack", "-v", first.pack])
      .split("\n")
      .filter((line) => /^[0-9a-f]{40} /.test(line))
      .map((line) => line.trim().split(/\s+/));
    expect(objects.map(([, type]) => type).sort()).toEqual(["blob", "blob", "commit", "tree"]);
    for (const fields of objects) expect(fields).toHaveLength(5);
    const big = objects.find(([, , size]) => Number(size) === compressible.length)!;
    expect(Number(big[3])).toBeGreaterThan(compressible.length); // stored as is, not deflated

    const moved = pushFile("packed", "big.txt", "changed");
    await cache.prepare(git.url("packed"), "main");
    const second = checkoutPack();
    expect(second.commit).toBe(moved);
    const packs = readdirSync(path.dirname(first.pack));
    expect(packs).toContain(path.basename(second.pack));
    expect(packs).not.toContain(path.basename(first.pack));
  });

  it("optio-clone clones from the server when the mirror it is given is unusable", async () => {
    git.createRepo("no-mirror");
    const work = mkdtempSync(path.join(os.tmpdir(), "optio-clone-"));
    try {
      const broken = path.join(work, "broken.git");
      mkdirSync(path.join(broken, "objects"), { recursive: true });
      const { stderr } = await run(CLONE, [path.join(work, "repo")], {
        env: {
          PATH: process.env.PATH,
          HOME: work,
          OPTIO_REPO_URL: git.url("no-mirror"),
          OPTIO_REPO_BRANCH: "main",
          OPTIO_BRANCH_NAME: "optio/no-mirror",
          OPTIO_REPO_REFERENCE: broken,
        },
      });
      expect(stderr).toContain("repo cache unusable; cloning without it");
      const inClone = (...args: string[]) =>
        execFileSync("git", ["-C", path.join(work, "repo"), ...args], { encoding: "utf8" }).trim();
      expect(inClone("rev-parse", "HEAD")).toBe(git.git("no-mirror", ["rev-parse", "main"]).trim());
      expect(inClone("rev-parse", "--abbrev-ref", "HEAD")).toBe("optio/no-mirror");
      expect(existsSync(path.join(work, "repo", ".git", "objects", "info", "alternates"))).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
