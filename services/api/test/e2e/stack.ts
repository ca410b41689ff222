// End-to-end fixtures: the real API (in process, dispatch on), real runner processes, the Docker
// engine, the test agent image and a git server, all on 127.0.0.1 (test containers use host networking).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { startGitServer, type GitServer } from "../../../runner/src/testing/git-server";
import { testAgentImage } from "../../../runner/src/testing/agent-image";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { startPrivateNats, type PrivateNats } from "../helpers/private-nats";
export { eventually } from "../helpers/eventually";

const ROOT = path.resolve(__dirname, "../../../..");
const RUNNER_MAIN = path.resolve(__dirname, "../../../runner/src/main.ts");

export type RunnerProcess = { id: string; child: ChildProcess; output: string[]; stop: () => Promise<void> };

export type E2eStack = {
  ctx: TestContext;
  nats: PrivateNats;
  git: GitServer;
  image: string;
  token: string;
  startRunner: (id: string, env?: Record<string, string>) => Promise<RunnerProcess>;
  close: () => Promise<void>;
};

export async function startE2eStack(config: Parameters<typeof createTestContext>[0] = {}): Promise<E2eStack> {
  const image = testAgentImage();
  const nats = await startPrivateNats();
  const git = await startGitServer(null);
  const ctx = await createTestContext({
    nats: nats.forApi,
    ...config,
    config: {
      OPTIO_DEFAULT_IMAGE: image,
      OPTIO_LEASE_MS: 4_000,
      OPTIO_REAP_INTERVAL_MS: 250,
      ...config.config,
    },
  });
  await ctx.dispatch.server.start();
  const token = await ctx.adminToken();
  const runners: RunnerProcess[] = [];

  const startRunner = async (id: string, env: Record<string, string> = {}): Promise<RunnerProcess> => {
    const output: string[] = [];
    // Its own NATS identity, added to the running server as an operator adds a runner.
    const credentials = await nats.addRunner(id);
    // One process (tsx as a loader, not its CLI wrapper), so SIGKILL really kills the runner.
    const child = spawn(process.execPath, ["--import", "tsx", RUNNER_MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NATS_URL: nats.url,
        NATS_USER: credentials.user,
        NATS_PASSWORD: credentials.pass,
        OPTIO_RUNNER_ID: id,
        OPTIO_RUNNER_IMAGE: image,
        OPTIO_RUNNER_NETWORK: "host",
        OPTIO_RUNNER_PULL: "never",
        OPTIO_RUNNER_SLOTS: "2",
        OPTIO_RUNNER_HEARTBEAT_MS: "500",
        OPTIO_RUNNER_POLL_MS: "1000",
        // A loaded CI machine may answer a claim slowly; a reply the runner gave up on costs a lease.
        OPTIO_RUNNER_CLAIM_TIMEOUT_MS: "15000",
        OPTIO_RUNNER_STOP_GRACE_MS: "2000",
        OPTIO_RUNNER_MEMORY_MB: "256",
        OPTIO_LOG_LEVEL: "info",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const runner: RunnerProcess = {
      id,
      child,
      output,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      },
    };
    runners.push(runner);
    // Never leave a runner behind, even if jest force-exits this worker.
    process.once("exit", () => child.kill("SIGKILL"));
    // Ready once the API has seen its heartbeat.
    const deadline = Date.now() + 30_000;
    while (!(await ctx.services.runners.list()).some((r) => r.runnerId === id)) {
      if (child.exitCode !== null) throw new Error(`runner ${id} exited: ${output.join("")}`);
      if (Date.now() > deadline) throw new Error(`runner ${id} did not come up: ${output.join("")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return runner;
  };

  return {
    ctx,
    nats,
    git,
    image,
    token,
    startRunner,
    close: async () => {
      for (const runner of runners) {
        if (runner.child.exitCode === null && runner.child.signalCode === null) runner.child.kill("SIGKILL");
      }
      await ctx.close();
      await nats.stop();
      await git.close();
    },
  };
}

/** Containers carrying a label, running or not. */
export function containersLabelled(label: string): string[] {
  return execFileSync("docker", ["ps", "-aq", "--filter", `label=${label}`], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
}

/** Removes a runner's containers and its workspace snapshot images. */
export function removeRunnerLeftovers(runnerId: string): void {
  for (const id of containersLabelled(`optio.runner=${runnerId}`)) execFileSync("docker", ["rm", "-f", id]);
  const images = execFileSync(
    "docker",
    ["images", "-q", "--no-trunc", "--filter", `label=optio.workspace.runner=${runnerId}`],
    { encoding: "utf8" },
  )
    .split("\n")
    .filter(Boolean);
  if (images.length > 0) execFileSync("docker", ["rmi", "-f", ...images]);
}
