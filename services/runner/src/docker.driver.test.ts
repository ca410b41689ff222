// Against the real Docker engine, the test agent image and a git server on 127.0.0.1.
// Test containers use host networking (ENVIRONMENT.md network rule).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import pino from "pino";
import { claudeAdapter } from "@optio/agents";
import { DockerDriver } from "./docker.driver";
import type { RunHandle } from "./driver";
import { forEachLine } from "./lines";
import { planRun } from "./run-plan";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./testing/agent-image";
import { runSpec, testConfig, testSecret } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";

jest.setTimeout(120_000);

const config = testConfig({ OPTIO_RUNNER_NETWORK: "host", OPTIO_RUNNER_ID: "docker-driver-test" });
const driver = new DockerDriver({ config, logger: pino({ level: "silent" }) });
const paths = driver.paths();
const auth = { username: "x-access-token", password: testSecret("ghs_") };
let git: GitServer;
let image: string;

async function collect(handle: RunHandle) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  await Promise.all([
    forEachLine(handle.stdout, (l) => stdout.push(l)),
    forEachLine(handle.stderr, (l) => stderr.push(l)),
  ]);
  return { stdout, stderr, exit: await handle.wait() };
}

const inspect = (id: string) => JSON.parse(execFileSync("docker", ["inspect", id], { encoding: "utf8" }))[0];

beforeAll(async () => {
  image = testAgentImage();
  git = await startGitServer(auth);
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const unit of await driver.list()) await driver.remove(unit.id);
  await git.close();
});

describe("DockerDriver", () => {
  it("runs the fake claude in a locked-down container, takes a second message on stdin and pushes the task branch", async () => {
    git.createRepo("demo");
    const spec = runSpec({
      agentType: "claude",
      title: "Add a note",
      prompt: "Add a note to the repo",
      repoUrl: git.url("demo"),
      image,
      limits: { memoryMb: 256, cpus: 1, pids: 128 },
      gitCredential: { source: "inline", username: auth.username, secret: auth.password },
    });
    const started = Date.now();
    const handle = await driver.start(planRun(spec, { config, paths, gitCredentials: {} }));
    // Past the spec, the container's stdin is the agent's: a second message, then the end of input.
    await handle.write!(claudeAdapter.input!.message("And a second line"));
    handle.endInput!();

    const info = inspect(handle.id);
    expect(info.Config.User).toBe("1000:1000");
    expect(info.HostConfig).toMatchObject({
      Memory: 256 * 1024 * 1024,
      NanoCpus: 1e9,
      PidsLimit: 128,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      NetworkMode: "host",
      Privileged: false,
    });
    expect(JSON.stringify(info)).not.toContain(auth.password);
    expect((await driver.list()).map((u) => u.runId)).toContain(spec.runId);

    const { stdout, stderr, exit } = await collect(handle);
    const elapsed = Date.now() - started;
    expect(exit).toEqual({ exitCode: 0, oomKilled: false });
    const resultLine = stdout.find((l) => l.startsWith("::optio-result::"))!;
    expect(JSON.parse(resultLine.slice("::optio-result::".length))).toMatchObject({
      exitCode: 0,
      branch: spec.branchName,
      pushed: true,
      commits: 1,
      error: null,
    });
    expect(stdout.some((l) => l.includes('"type":"result"'))).toBe(true);
    expect(stderr).toContain(`[optio] pushing 1 commit(s) to ${spec.branchName}`);
    expect([...stdout, ...stderr].join("\n")).not.toContain(auth.password);
    expect(git.seen).toContain(`${auth.username}:${auth.password}`);

    expect(git.git("demo", ["log", "--format=%s%n%b", "-1", spec.branchName])).toContain(
      `Task: ${spec.taskId}`,
    );
    // Two turns, one session: the fake appends each turn's message.
    expect(git.git("demo", ["show", `${spec.branchName}:optio-fake-claude.txt`])).toBe(
      "Add a note to the repo\nAnd a second line\n",
    );
    expect(
      new Set(stdout.filter((l) => l.includes('"subtype":"init"')).map((l) => JSON.parse(l).session_id)).size,
    ).toBe(1);

    await handle.dispose();
    expect((await driver.list()).map((u) => u.runId)).not.toContain(spec.runId);
    console.log(`docker driver: container run with clone+agent+push took ${elapsed} ms`);
  });

  it("hands the agent its environment and secrets byte for byte, running nothing in them", async () => {
    git.createRepo("env");
    const hostile = (label: string) =>
      `${label} 'single' "double" \\ $(touch /tmp/ran) \`touch /tmp/ran\`\n =x= `;
    const title = hostile("title");
    const secret = hostile(testSecret("sk-"));
    const spec = runSpec({
      title,
      prompt:
        'printf %s "$OPTIO_TASK_TITLE" | sha256sum; printf %s "$AGENT_SECRET" | sha256sum; test -e /tmp/ran || echo nothing ran',
      secretEnv: { AGENT_SECRET: secret },
      repoUrl: git.url("env"),
      image,
      gitCredential: { source: "inline", username: auth.username, secret: auth.password },
    });
    const { stdout } = await collect(
      await driver.start(planRun(spec, { config, paths, gitCredentials: {} })),
    );
    const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
    expect(stdout.slice(0, 3).map((line) => line.split(" ")[0])).toEqual([
      sha256(title),
      sha256(secret),
      "nothing",
    ]);
  });

  it("fails the clone without the credential, and never leaks it", async () => {
    git.createRepo("private");
    const spec = runSpec({ repoUrl: git.url("private"), image });
    const handle = await driver.start(planRun(spec, { config, paths, gitCredentials: {} }));
    const { stdout, exit } = await collect(handle);
    await handle.dispose();
    expect(exit.exitCode).toBe(2);
    expect(stdout.at(-1)).toContain('"code":"CLONE_FAILED"');
  });

  it("stops a run within the grace period", async () => {
    git.createRepo("slow");
    const spec = runSpec({
      agentType: "claude",
      prompt: "FAKE_SLEEP=60",
      repoUrl: git.url("slow"),
      image,
      gitCredential: { source: "inline", username: auth.username, secret: auth.password },
    });
    const handle = await driver.start(planRun(spec, { config, paths, gitCredentials: {} }));
    const output = collect(handle);
    // Wait until the agent is running.
    await new Promise<void>((resolve) =>
      handle.stderr.on("data", (d: Buffer) => d.toString().includes("working (1)") && resolve()),
    );
    const t0 = Date.now();
    await handle.stop(2000);
    const stopMs = Date.now() - t0;
    const { stdout, exit } = await output;
    expect(stopMs).toBeLessThan(2000 + 2000); // grace + engine latency
    expect(exit.exitCode).toBe(143); // the entrypoint forwarded SIGTERM and exited
    expect(stdout.at(-1)).toContain('"code":"CANCELLED"');
    await handle.dispose();
  });

  it("reports an OOM kill", async () => {
    git.createRepo("oom");
    const spec = runSpec({
      agentType: "claude",
      prompt: "FAKE_OOM",
      repoUrl: git.url("oom"),
      image,
      limits: { memoryMb: 48, cpus: 1, pids: 64 },
      gitCredential: { source: "inline", username: auth.username, secret: auth.password },
    });
    const handle = await driver.start(planRun(spec, { config, paths, gitCredentials: {} }));
    const { exit } = await collect(handle);
    await handle.dispose();
    expect(exit.oomKilled || exit.exitCode === 137).toBe(true);
    expect(exit.oomKilled).toBe(true);
  });

  it("fails with IMAGE_NOT_FOUND for a missing image when pulling is off", async () => {
    const spec = runSpec({ image: "optio/does-not-exist:never" });
    await expect(driver.start(planRun(spec, { config, paths, gitCredentials: {} }))).rejects.toMatchObject({
      code: "IMAGE_NOT_FOUND",
    });
  });
});
