// Runner dispatch latency: from the wakeup that follows a claimable task to the run's first output
// line arriving on NATS (the run's first log report), over N trivial `shell` runs with an idle
// runner, beside a raw `docker run` of the same image measured in the same process.
// The API is played by a fake dispatcher (claim replies from memory): this isolates the runner's
// share. Real parts: NATS + JetStream, the Docker engine, the test agent image, a git server.
//   node_modules/.bin/tsx services/runner/scripts/bench-dispatch.ts        (BENCH_RUNS=50 by default)
import { spawn } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import pino from "pino";
import { subjects } from "@optio/contracts";
import { DockerDriver } from "../src/docker.driver";
import { ensureRunsStream } from "../src/nats";
import { Runner } from "../src/runner";
import { testAgentImage } from "../src/testing/agent-image";
import { FakeDispatcher } from "../src/testing/fake-dispatcher";
import { runSpec, testConfig } from "../src/testing/fixtures";
import { startGitServer } from "../src/testing/git-server";
import { privateNats } from "../src/testing/nats";

const RUNS = Number(process.env.BENCH_RUNS ?? 50);

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const fmt = (values: number[]) =>
  `p50 ${pct(values, 50).toFixed(0)} ms  p99 ${pct(values, 99).toFixed(0)} ms  (n=${values.length})`;

/** `docker run --rm` of the image with a trivial command: spawn → first stdout line. */
function rawDockerRun(image: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first: number | undefined;
    const child = spawn("docker", [
      "run",
      "--rm",
      "--network",
      "none",
      "--entrypoint",
      "bash",
      image,
      "-c",
      "echo first",
    ]);
    child.stdout.once("data", () => (first = performance.now() - t0));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 && first !== undefined ? resolve(first) : reject(new Error(`docker run: ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const image = testAgentImage();
  const [nats, git] = await Promise.all([privateNats(), startGitServer(null)]);
  const nc = await connect({ servers: nats.url });
  await ensureRunsStream(nc);
  const dispatcher = new FakeDispatcher(nc);
  const config = testConfig({
    OPTIO_RUNNER_ID: "bench-runner",
    OPTIO_RUNNER_NETWORK: "host",
    OPTIO_RUNNER_SLOTS: "2",
    OPTIO_RUNNER_POLL_MS: "600000",
  });
  const js = jetstream(nc);
  const runner = new Runner({
    config,
    nc,
    driver: new DockerDriver({ config, logger: pino({ level: "silent" }) }),
    logger: pino({ level: "silent" }),
    version: "bench",
    sink: async (subject, payload, msgId) => void (await js.publish(subject, payload, { msgID: msgId })),
  });
  await runner.start();
  const rssIdle = process.memoryUsage().rss;
  git.createRepo("bench");

  const raw: number[] = [];
  const dispatch: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    raw.push(await rawDockerRun(image));
    const run = runSpec({ agentType: "shell", prompt: "echo done", repoUrl: git.url("bench"), image });
    dispatcher.queue.push(run);
    const t0 = performance.now();
    nc.publish(subjects.dispatchWakeup(), "{}");
    await dispatcher.until(run.runId, (r) => r.some((x) => x.kind === "log"));
    dispatch.push(performance.now() - t0);
    await dispatcher.exited(run.runId);
    total.push(performance.now() - t0);
  }
  const rssAfter = process.memoryUsage().rss;

  const overhead = pct(dispatch, 50) - pct(raw, 50);
  console.log(`raw docker run (spawn → first line):               ${fmt(raw)}`);
  console.log(`runner dispatch (wakeup → first log line on NATS): ${fmt(dispatch)}`);
  console.log(`runner whole run (clone + agent + exited report):  ${fmt(total)}`);
  console.log(
    `p50 overhead above raw docker run: ${overhead.toFixed(0)} ms (ratio ${(pct(dispatch, 50) / pct(raw, 50)).toFixed(2)})`,
  );
  console.log(
    `bench process RSS: idle ${(rssIdle / 2 ** 20).toFixed(0)} MB, after ${RUNS} runs ${(rssAfter / 2 ** 20).toFixed(0)} MB`,
  );

  await runner.shutdown();
  dispatcher.close();
  await nc.close();
  await Promise.all([git.close(), nats.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
