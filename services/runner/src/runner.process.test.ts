// The runner as a process (src/main.ts under tsx): announce, kill -9 leaves a container that the
// next process removes, SIGTERM hands running runs back as `shutdown` and exits 0.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { RunnerAnnounced, subjects } from "@optio/contracts";
import { ensureRunsStream } from "./testing/streams";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./testing/agent-image";
import { FakeDispatcher } from "./testing/fake-dispatcher";
import { runSpec } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";
import { privateNats, type TestNats } from "./testing/nats";

jest.setTimeout(120_000);

const root = path.resolve(__dirname, "../../..");
const RUNNER_ID = "process-test";
let nats: TestNats;
let nc: NatsConnection;
let git: GitServer;
let dispatcher: FakeDispatcher;
let image: string;

const containers = () =>
  execFileSync("docker", ["ps", "-aq", "--filter", `label=optio.runner=${RUNNER_ID}`], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);

const children: ChildProcess[] = [];

let runnerPassword: string;

function startRunner(extraEnv: Record<string, string> = {}): ChildProcess {
  // node with tsx's loader (not the tsx CLI, which would put a wrapper process in between and
  // turn `kill -9` into killing the wrapper only).
  const child = spawn(process.execPath, ["--import", "tsx", "services/runner/src/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NATS_URL: nats.url,
      OPTIO_RUNNER_ID: RUNNER_ID,
      // Its identity: the user defaults to runner-<OPTIO_RUNNER_ID>.
      NATS_PASSWORD: runnerPassword,
      OPTIO_RUNNER_IMAGE: image,
      OPTIO_RUNNER_NETWORK: "host",
      OPTIO_RUNNER_HEARTBEAT_MS: "300",
      OPTIO_RUNNER_STOP_GRACE_MS: "1000",
      OPTIO_RUNNER_SHUTDOWN_MS: "300",
      OPTIO_LOG_LEVEL: process.env.OPTIO_TEST_LOG ?? "warn",
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      ...extraEnv,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
  return child;
}

function announced(): Promise<RunnerAnnounced> {
  return new Promise((resolve) => {
    const sub = nc.subscribe(subjects.runnerAnnounce(RUNNER_ID), {
      max: 1,
      callback: (_, msg) => resolve(RunnerAnnounced.parse(msg.json())),
    });
    void sub;
  });
}

function dispatchSlowRun() {
  const repo = `slow-${Date.now()}`;
  git.createRepo(repo);
  const run = runSpec({ agentType: "claude", prompt: "FAKE_SLEEP=60", repoUrl: git.url(repo) });
  dispatcher.queue.push(run);
  nc.publish(subjects.dispatchWakeup(), "{}");
  return run;
}

const exitOf = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );

beforeAll(async () => {
  image = testAgentImage();
  [nats, git] = await Promise.all([privateNats(), startGitServer(null)]);
  nc = await connect({ servers: nats.url, ...nats.tool });
  runnerPassword = (await nats.addRunner(RUNNER_ID)).pass;
  await ensureRunsStream(nc);
  dispatcher = new FakeDispatcher(nc);
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const id of containers()) execFileSync("docker", ["rm", "-f", id]);
  dispatcher.close();
  await nc.close();
  await Promise.all([git.close(), nats.stop()]);
});

describe("runner process", () => {
  it("announces itself, and a restart after kill -9 removes the orphaned container", async () => {
    const first = announced();
    const runner = startRunner();
    expect(await first).toMatchObject({
      runnerId: RUNNER_ID,
      driver: "docker",
      isolated: true,
      slots: { total: 2, busy: 0 },
    });

    const run = dispatchSlowRun();
    await dispatcher.until(run.runId, (r) => r.some((x) => x.kind === "started"));
    const exited = exitOf(runner);
    runner.kill("SIGKILL");
    await exited;
    expect(containers()).toHaveLength(1); // the run's container survived its runner

    const again = announced();
    const second = startRunner();
    await again;
    expect(containers()).toHaveLength(0);

    const stopped = exitOf(second);
    second.kill("SIGTERM");
    expect(await stopped).toEqual({ code: 0, signal: null });
  });

  it("on SIGTERM stops claiming, hands running runs back as `shutdown` and exits 0", async () => {
    const ready = announced();
    const runner = startRunner();
    await ready;
    const run = dispatchSlowRun();
    await dispatcher.until(run.runId, (r) => r.some((x) => x.kind === "started"));
    const t0 = Date.now();
    const exited = exitOf(runner);
    runner.kill("SIGTERM");
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(300 + 1000 + 5000);
    const reports = await dispatcher.exited(run.runId, 5000);
    expect(reports.at(-1)).toMatchObject({
      kind: "exited",
      reason: "shutdown",
      error: { code: "RUNNER_SHUTDOWN" },
    });
    expect(containers()).toHaveLength(0);
  });

  it("leaves no warm-pool container behind a kill -9 once it restarts, and drains the pool on SIGTERM", async () => {
    const pool = { OPTIO_RUNNER_WARM_POOL: "2" };
    const first = announced();
    const runner = startRunner(pool);
    await first;
    await waitFor(() => containers().length === 2);
    const before = containers();
    const exited = exitOf(runner);
    runner.kill("SIGKILL");
    await exited;
    expect(containers().sort()).toEqual([...before].sort()); // the pool survived its runner

    const again = announced();
    const second = startRunner(pool);
    await again;
    await waitFor(() => containers().length === 2);
    expect(containers().filter((id) => before.includes(id))).toEqual([]);

    const stopped = exitOf(second);
    second.kill("SIGTERM");
    expect(await stopped).toEqual({ code: 0, signal: null });
    expect(containers()).toHaveLength(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
