// The repo cache against the real Docker engine, the test agent image and a git server on 127.0.0.1.
import { randomUUID } from "node:crypto";
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { DockerDriver } from "./docker.driver";
import { CACHE_MOUNT, RepoCache } from "./repo-cache";
import { planRun } from "./run-plan";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./testing/agent-image";
import { runSpec, testConfig } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";
import { runToEnd } from "./testing/run-to-end";

jest.setTimeout(180_000);

const RUNNER_ID = "repo-cache-test";
/** The entrypoint's clone step, run here on the host (the git server answers from this process). */
const CLONE = path.resolve(__dirname, "../../../deploy/images/agent/optio-clone");
const run = promisify(execFile);
let git: GitServer;
let image: string;
let cacheDir: string;
let driver: DockerDriver;
let driverConfig: ReturnType<typeof testConfig>;

/** By default a shell run that records which objects store its clone borrowed (pushed as alt.txt). */
function start(
  repo: string,
  prompt = "cat .git/objects/info/alternates > alt.txt 2>/dev/null || echo none > alt.txt",
  branchName = `optio/${randomUUID().slice(0, 8)}-cache`,
  using = driver,
) {
  const spec = runSpec({
    agentType: "shell",
    prompt,
    repoUrl: git.url(repo),
    branchName,
    image,
  });
  const config = testConfig({ OPTIO_RUNNER_ID: RUNNER_ID });
  return { spec, handle: using.start(planRun(spec, { config, paths: using.paths(), gitCredentials: {} })) };
}

const pushedFile = (repo: string, branch: string, file: string) =>
  git.git(repo, ["show", `${branch}:${file}`]).trim();
const borrowed = (repo: string, branch: string) => pushedFile(repo, branch, "alt.txt");

/** A mirror's checkout pack: the commit it holds and its pack file. */
function checkoutPackOf(mirror: string) {
  const [commit, pack] = readFileSync(path.join(mirror, "optio-checkout-pack"), "utf8").split(" ");
  return { commit, pack: path.join(mirror, "objects", "pack", `pack-${pack}.pack`) };
}

/** Runs optio-clone on the host from a mirror; the clone's HEAD commit. */
async function cloneFrom(mirror: string, repo: string, dest: string): Promise<string> {
  await run(CLONE, [dest], {
    env: {
      PATH: process.env.PATH,
      HOME: path.dirname(dest),
      OPTIO_REPO_URL: git.url(repo),
      OPTIO_REPO_BRANCH: "main",
      OPTIO_BRANCH_NAME: "optio/from-mirror",
      OPTIO_REPO_REFERENCE: mirror,
    },
  });
  return execFileSync("git", ["-C", dest, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
}

beforeAll(async () => {
  image = testAgentImage();
  git = await startGitServer(null);
  cacheDir = mkdtempSync(path.join(os.tmpdir(), "optio-repo-cache-"));
  chmodSync(cacheDir, 0o755); // the container's user reads it (read-only mount)
  driverConfig = testConfig({
    OPTIO_RUNNER_NETWORK: "host",
    OPTIO_RUNNER_ID: RUNNER_ID,
    OPTIO_RUNNER_REPO_CACHE: cacheDir,
    // The cache alone (a snapshot's build would hold mirrors these tests remove): see
    // workspace-snapshots.docker.test.ts.
    OPTIO_RUNNER_WORKSPACE_SNAPSHOTS: "false",
  });
  driver = new DockerDriver({ config: driverConfig, logger: pino({ level: "silent" }) });
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const unit of await driver.list()) await driver.remove(unit.id);
  await driver.close();
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
    const moved = git.commitFile("moving", "news.txt", "pushed meanwhile");
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
    const tip = git.commitFile("packed", "big.txt", compressible);
    const cache = new RepoCache({ dir: cacheDir, logger: pino({ level: "silent" }) });
    const hold = (await cache.prepare(git.url("packed"), "main"))!;
    hold.release();
    await cache.settled();
    const mirror = path.join(cacheDir, hold.name);
    const checkoutPack = () => checkoutPackOf(mirror);
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

    const moved = git.commitFile("packed", "big.txt", "changed");
    (await cache.prepare(git.url("packed"), "main"))!.release();
    await cache.settled();
    const second = checkoutPack();
    expect(second.commit).toBe(moved);
    const packs = readdirSync(path.dirname(first.pack));
    expect(packs).toContain(path.basename(second.pack));
    expect(packs).not.toContain(path.basename(first.pack));
  });

  it("prepare returns once the mirror is fetched; the checkout pack follows in the background, and a clone meanwhile is whole", async () => {
    git.createRepo("background");
    const cache = new RepoCache({ dir: cacheDir, logger: pino({ level: "silent" }) });
    const first = (await cache.prepare(git.url("background"), "main"))!;
    first.release();
    await cache.settled();
    const mirror = path.join(cacheDir, first.name);
    const before = checkoutPackOf(mirror);

    const moved = git.commitFile("background", "news.txt", "pushed meanwhile");
    const hold = (await cache.prepare(git.url("background"), "main"))!;
    expect(git.git("background", ["rev-parse", "main"]).trim()).toBe(moved);
    expect(execFileSync("git", ["--git-dir", mirror, "rev-parse", "main"], { encoding: "utf8" }).trim()).toBe(
      moved,
    );
    expect(checkoutPackOf(mirror)).toEqual(before); // not rebuilt yet: prepare did not wait for it
    const work = mkdtempSync(path.join(os.tmpdir(), "optio-clone-"));
    try {
      // Made while the pack is rebuilt (or just after): the branch's tip, every file there.
      expect(await cloneFrom(mirror, "background", path.join(work, "repo"))).toBe(moved);
      expect(readFileSync(path.join(work, "repo", "news.txt"), "utf8")).toBe("pushed meanwhile");
      execFileSync("git", ["-C", path.join(work, "repo"), "fsck", "--no-progress"], { stdio: "ignore" });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    await cache.settled();
    expect(checkoutPackOf(mirror).commit).toBe(moved);
    hold.release();
  });

  it("a replaced checkout pack stays while any run holds the mirror, and goes once none does", async () => {
    git.createRepo("held");
    const cache = new RepoCache({ dir: cacheDir, logger: pino({ level: "silent" }) });
    const early = (await cache.prepare(git.url("held"), "main"))!;
    await cache.settled();
    const mirror = path.join(cacheDir, early.name);
    const old = checkoutPackOf(mirror).pack;

    git.commitFile("held", "news.txt", "pushed meanwhile");
    const late = (await cache.prepare(git.url("held"), "main"))!;
    await cache.settled();
    const current = checkoutPackOf(mirror).pack;
    expect(current).not.toBe(old);
    expect(existsSync(old)).toBe(true);
    early.release();
    early.release(); // twice: counted once
    expect(existsSync(old)).toBe(true); // the later run saw it on disk too
    late.release();
    expect(existsSync(old)).toBe(false);
    expect(existsSync(current)).toBe(true);
  });

  it("close lets the rebuild under way finish and starts none after", async () => {
    git.createRepo("closing");
    const cache = new RepoCache({ dir: cacheDir, logger: pino({ level: "silent" }) });
    const hold = (await cache.prepare(git.url("closing"), "main"))!;
    hold.release();
    await cache.close();
    const mirror = path.join(cacheDir, hold.name);
    const packed = checkoutPackOf(mirror);
    expect(packed.commit).toBe(git.git("closing", ["rev-parse", "main"]).trim());
    expect(existsSync(packed.pack)).toBe(true);

    git.commitFile("closing", "news.txt", "pushed after close");
    (await cache.prepare(git.url("closing"), "main"))!.release();
    await cache.settled();
    expect(checkoutPackOf(mirror)).toEqual(packed);
  });

  it("a mirror that cannot be fetched stays while another run holds it; the run goes without it", async () => {
    git.createRepo("unfetchable");
    const url = git.url("unfetchable");
    const cache = new RepoCache({ dir: cacheDir, logger: pino({ level: "silent" }) });
    const using = (await cache.prepare(url, "main"))!;
    const mirror = path.join(cacheDir, using.name);
    const origin = (...value: string[]) =>
      execFileSync("git", ["--git-dir", mirror, "config", "remote.origin.url", ...value], {
        encoding: "utf8",
      }).trim();
    const nowhere = "http://127.0.0.1:9/nowhere.git"; // the server out of reach: every fetch fails
    origin(nowhere);

    expect(await cache.prepare(url, "main")).toBeNull();
    expect(origin()).toBe(nowhere); // the same mirror, not removed and cloned again
    using.release();
    (await cache.prepare(url, "main"))!.release(); // no run holds it: cloned afresh
    expect(origin()).toBe(url);
    await cache.settled();
  });

  it("a run holds its mirror until its container is removed", async () => {
    git.createRepo("run-held");
    const earlier = new RepoCache({ dir: cacheDir, logger: pino({ level: "silent" }) });
    const { name, release } = (await earlier.prepare(git.url("run-held"), "main"))!;
    release();
    await earlier.close(); // what an earlier run left: the mirror and its checkout pack
    const mirror = path.join(cacheDir, name);
    const old = checkoutPackOf(mirror).pack;

    // The run waits for the rebuild its own start began, then lists the mirror's packs.
    const moved = git.commitFile("run-held", "news.txt", "pushed meanwhile");
    const own = new DockerDriver({ config: driverConfig, logger: pino({ level: "silent" }) });
    const record = `${CACHE_MOUNT}/${name}/optio-checkout-pack`;
    const second = start(
      "run-held",
      [
        `for i in $(seq 600); do grep -q ${moved} ${record} 2>/dev/null && break; sleep 0.1; done`,
        `ls ${CACHE_MOUNT}/${name}/objects/pack > packs.txt`,
      ].join("; "),
      undefined,
      own,
    );
    expect((await runToEnd(await second.handle)).exit.exitCode).toBe(0);
    await own.close();
    expect(pushedFile("run-held", second.spec.branchName, "packs.txt")).toContain(path.basename(old));
    expect(checkoutPackOf(mirror).commit).toBe(moved);
    expect(existsSync(old)).toBe(false);
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
