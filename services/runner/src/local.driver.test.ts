// The local driver runs the image's entrypoint as a child process group in a temporary directory.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RunHandle } from "./driver";
import { forEachLine } from "./lines";
import { LocalDriver } from "./local.driver";
import { planRun } from "./run-plan";
import { runSpec, testConfig, testSecret } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";

jest.setTimeout(60_000);

const auth = { username: "bot", password: testSecret("local-driver-") };
let git: GitServer;
let workDir: string;
let driver: LocalDriver;
let config: ReturnType<typeof testConfig>;

async function collect(handle: RunHandle) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  await Promise.all([
    forEachLine(handle.stdout, (l) => stdout.push(l)),
    forEachLine(handle.stderr, (l) => stderr.push(l)),
  ]);
  return { stdout, stderr, exit: await handle.wait() };
}

function plan(repo: string, prompt: string, env: Record<string, string> = {}, create = true) {
  if (create) git.createRepo(repo);
  const spec = runSpec({
    agentType: "shell",
    prompt,
    repoUrl: git.url(repo),
    gitCredential: { source: "inline", username: auth.username, secret: auth.password },
    env: { GREETING: "hi", ...env },
  });
  return {
    spec,
    plan: planRun(spec, { config, paths: driver.paths(spec.runId, spec.attempt), gitCredentials: {} }),
  };
}

beforeAll(async () => {
  git = await startGitServer(auth);
  workDir = mkdtempSync(path.join(os.tmpdir(), "optio-local-driver-"));
  config = testConfig({ OPTIO_RUNNER_DRIVER: "local", OPTIO_RUNNER_WORK_DIR: workDir });
  driver = new LocalDriver({ config });
});
afterAll(async () => {
  await git.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe("LocalDriver", () => {
  it("is flagged as not isolated", () => {
    expect(driver.isolated).toBe(false);
    expect(driver.name).toBe("local");
  });

  it("runs a shell task through the entrypoint and pushes the branch", async () => {
    const { spec, plan: p } = plan(
      "local",
      'echo "$GREETING from $OPTIO_AGENT_TYPE" | tee hello.txt; env | grep -c NATS_URL || true',
    );
    const handle = await driver.start(p);
    expect((await driver.list()).map((u) => u.runId)).toContain(spec.runId);
    const { stdout, exit } = await collect(handle);
    expect(exit).toEqual({ exitCode: 0, oomKilled: false });
    expect(stdout).toContain("hi from shell");
    expect(stdout).toContain("0"); // the runner's own environment does not leak into runs
    expect(stdout.at(-1)).toMatch(/"pushed":true,"commits":1/);
    expect(git.git("local", ["show", `${spec.branchName}:hello.txt`])).toBe("hi from shell\n");
    expect(existsSync(path.join(driver.paths(spec.runId, 1).runDir, "git-credential"))).toBe(false); // read once, deleted
    await handle.dispose();
    expect(await driver.list()).toEqual([]);
  });

  it("continues the branch an earlier run pushed; a read-only run pushes nothing", async () => {
    const run = async (prompt: string, env: Record<string, string> = {}, create = false) => {
      const { plan: p } = plan("continue", prompt, env, create);
      const handle = await driver.start(p);
      const result = await collect(handle);
      await handle.dispose();
      return result.stdout.at(-1)!;
    };
    expect(await run("echo one > one.txt", {}, true)).toMatch(/"pushed":true,"commits":1/);
    // A fix-up run starts from the pushed branch: one.txt is there, and one more commit is added.
    expect(await run("test -f one.txt && echo two > two.txt")).toMatch(/"pushed":true,"commits":1/);
    const branch = runSpec().branchName;
    expect(git.git("continue", ["rev-list", "--count", branch])).toBe("3\n");
    // A review run: changes are neither committed nor pushed.
    const head = git.git("continue", ["rev-parse", branch]);
    expect(await run("cat two.txt; echo three > three.txt", { OPTIO_READ_ONLY: "1" })).toMatch(
      /"pushed":false,"commits":0/,
    );
    expect(git.git("continue", ["rev-parse", branch])).toBe(head);
  });

  it("stops the whole process tree within the grace period", async () => {
    const { plan: p } = plan("local-stop", "sleep 60 & sleep 60; echo never");
    const handle = await driver.start(p);
    const output = collect(handle);
    await new Promise((r) => setTimeout(r, 800));
    const t0 = Date.now();
    await handle.stop(1000);
    expect(Date.now() - t0).toBeLessThan(1000 + 1500);
    const { stdout } = await output;
    expect(stdout.join("\n")).not.toContain("never");
    await handle.dispose();
  });

  it("lists and removes a leftover run", async () => {
    const { spec, plan: p } = plan("local-orphan", "sleep 60");
    const handle = await driver.start(p);
    const [unit] = await driver.list();
    expect(unit).toMatchObject({ runId: spec.runId, running: true });
    await driver.remove(unit!.id);
    await handle.wait();
    expect(await driver.list()).toEqual([]);
  });
});
