// A NATS restart in the middle of a run: the runner reconnects, the reports produced meanwhile are
// retried, and the stream ends up with every report exactly once, in order.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import pino from "pino";
import { RunReport, RUNS_STREAM, subjects, type RunLog } from "@optio/contracts";
import { DockerDriver } from "./docker.driver";
import { connect } from "@nats-io/transport-node";
import { ensureRunsStream } from "./testing/streams";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./testing/agent-image";
import { FakeDispatcher } from "./testing/fake-dispatcher";
import { runSpec, testConfig } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";
import { privateNats, type PrivateNats } from "./testing/nats";
import { runnerConnection, startTestRunner } from "./testing/test-runner";

jest.setTimeout(120_000);

let nats: PrivateNats;
let git: GitServer;
let nc: NatsConnection;
let runnerNc: NatsConnection;

beforeAll(async () => {
  testAgentImage();
  [nats, git] = await Promise.all([privateNats(), startGitServer(null)]);
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  await nc?.close();
  await runnerNc?.close();
  await Promise.all([git.close(), nats.stop()]);
});

it("loses no report across a NATS restart mid-run", async () => {
  const image = testAgentImage();
  // The test plays the API: it must outlive the restart as the runner does.
  nc = await connect({ servers: nats.url, ...nats.tool, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  await ensureRunsStream(nc);
  const dispatcher = new FakeDispatcher(nc);
  const config = testConfig({
    OPTIO_RUNNER_ID: "nats-restart",
    OPTIO_RUNNER_NETWORK: "host",
    OPTIO_RUNNER_HEARTBEAT_MS: "300",
    OPTIO_RUNNER_POLL_MS: "600000",
  });
  runnerNc = await runnerConnection(nats, config.OPTIO_RUNNER_ID);
  const runner = await startTestRunner({
    config,
    nc: runnerNc,
    driver: new DockerDriver({ config, logger: pino({ level: "silent" }) }),
    publishTimeoutMs: 2000,
  });

  git.createRepo("restart");
  const run = runSpec({
    agentType: "shell",
    prompt: "for i in $(seq 1 40); do echo line $i; sleep 0.1; done",
    repoUrl: git.url("restart"),
    image,
  });
  dispatcher.queue.push(run);
  nc.publish(subjects.dispatchWakeup(), "{}");
  await dispatcher.until(run.runId, (r) =>
    r.some((x) => x.kind === "log" && x.lines.some((l) => l.content === "line 2")),
  );
  await nats.restart(1500);
  await dispatcher.exited(run.runId, 60_000);
  await runner.shutdown();
  dispatcher.close();

  // What the stream holds (not what a core subscriber happened to see).
  const jsm = await jetstreamManager(nc);
  const stored = (await jsm.streams.info(RUNS_STREAM)).state.messages;
  const consumer = await jetstream(nc).consumers.get(RUNS_STREAM);
  const reports: RunReport[] = [];
  let read = 0;
  for await (const msg of await consumer.fetch({ max_messages: stored, expires: 5000 })) {
    const report = RunReport.parse(msg.json());
    if (report.runId === run.runId) reports.push(report);
    if (++read >= stored) break;
  }
  const seqs = reports.map((r) => r.seq);
  expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // each once, in order, no gap
  expect(reports.at(-1)).toMatchObject({ kind: "exited", reason: "completed" });
  const text = reports
    .filter((r): r is RunLog => r.kind === "log")
    .flatMap((r) => r.lines)
    .filter((l) => l.type === "text")
    .map((l) => l.content);
  expect(text).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i + 1}`));
});
