// The warm pool against the real Docker engine, the test agent image and a git server on 127.0.0.1.
import { execFileSync } from "node:child_process";
import pino from "pino";
import { DockerDriver } from "./docker.driver";
import { forEachLine } from "./lines";
import { planRun } from "./run-plan";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./testing/agent-image";
import { runSpec, testConfig } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";
import { until } from "./testing/until";

jest.setTimeout(120_000);

const RUNNER_ID = "warm-pool-test";
let git: GitServer;
let image: string;
let driver: DockerDriver;

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const inspect = (id: string) => JSON.parse(docker("inspect", id))[0];
const poolContainers = () =>
  docker(
    "ps",
    "-aq",
    "--no-trunc",
    "--filter",
    `label=optio.runner=${RUNNER_ID}`,
    "--filter",
    "label=optio.pool",
  )
    .split("\n")
    .filter(Boolean);

beforeAll(async () => {
  image = testAgentImage();
  git = await startGitServer(null);
  const config = testConfig({
    OPTIO_RUNNER_NETWORK: "host",
    OPTIO_RUNNER_ID: RUNNER_ID,
    OPTIO_RUNNER_IMAGE: image,
    OPTIO_RUNNER_WARM_POOL: "1",
    OPTIO_RUNNER_MEMORY_MB: "256",
    OPTIO_RUNNER_PIDS: "128",
  });
  driver = new DockerDriver({ config, logger: pino({ level: "silent" }) });
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  await driver.close();
  for (const unit of await driver.list()) await driver.remove(unit.id);
  await git.close();
});

describe("warm pool", () => {
  it("hands a run a started container that held nothing of it before, hardened like a cold one", async () => {
    driver.warm();
    await until(() => driver.poolStats()?.ready === 1);
    const [pooled] = poolContainers();
    const before = inspect(pooled!);
    expect(before.State.Running).toBe(true);
    expect(before.Config.Env.filter((e: string) => e.startsWith("OPTIO_TASK_ID"))).toEqual([]);
    expect(before.Config.User).toBe("1000:1000");
    expect(before.HostConfig).toMatchObject({
      Memory: 256 * 1024 * 1024,
      PidsLimit: 128,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
    });
    expect(docker("exec", pooled!, "ls", "-A", "/run/optio", "/workspace")).toBe(
      "/run/optio:\n\n/workspace:",
    );

    git.createRepo("warm");
    const spec = runSpec({
      agentType: "shell",
      prompt: "echo from-the-pool > pool.txt",
      repoUrl: git.url("warm"),
      image,
    });
    const config = testConfig({
      OPTIO_RUNNER_ID: RUNNER_ID,
      OPTIO_RUNNER_MEMORY_MB: "256",
      OPTIO_RUNNER_PIDS: "128",
    });
    const handle = await driver.start(planRun(spec, { config, paths: driver.paths(), gitCredentials: {} }));
    expect(handle.id).toBe(pooled);
    const stdout: string[] = [];
    const stderr: string[] = [];
    await Promise.all([
      forEachLine(handle.stdout, (line) => stdout.push(line)),
      forEachLine(handle.stderr, (line) => stderr.push(line)),
    ]);
    expect(await handle.wait()).toEqual({ exitCode: 0, oomKilled: false });
    expect(stdout.at(-1)).toMatch(/^::optio-result::.*"pushed":true/);
    expect(stderr.join("\n")).toContain(`[optio] working on ${spec.branchName}`);
    expect(git.git("warm", ["show", `${spec.branchName}:pool.txt`])).toBe("from-the-pool\n");
    await handle.dispose();
    expect(poolContainers()).not.toContain(pooled); // used once, then removed
    await until(() => driver.poolStats()?.ready === 1);
    expect(driver.poolStats()).toEqual({ size: 1, ready: 1, used: 1 });
  });

  it("starts a cold container for other limits, drains on an image change, and empties on close", async () => {
    await until(() => driver.poolStats()?.ready === 1);
    const [pooled] = poolContainers();
    const config = testConfig({ OPTIO_RUNNER_ID: RUNNER_ID });
    const other = runSpec({ prompt: "true", image, limits: { memoryMb: 300, cpus: 1, pids: 100 } });
    const cold = await driver.start(planRun(other, { config, paths: driver.paths(), gitCredentials: {} }));
    expect(cold.id).not.toBe(pooled);
    await cold.stop(0);
    await cold.dispose();

    const retagged = `${image}-retag`;
    docker("tag", image, retagged);
    try {
      const moved = runSpec({
        prompt: "true",
        image: retagged,
        limits: { memoryMb: 256, cpus: 1, pids: 128 },
      });
      const handle = await driver.start(
        planRun(moved, { config, paths: driver.paths(), gitCredentials: {} }),
      );
      expect(handle.id).not.toBe(pooled);
      await handle.stop(0);
      await handle.dispose();
      await until(() => poolContainers().length === 1 && !poolContainers().includes(pooled!));
      expect(inspect(poolContainers()[0]!).Config.Image).toBe(retagged);
      await driver.close();
      expect(poolContainers()).toEqual([]);
    } finally {
      docker("rmi", retagged);
    }
  });
});
