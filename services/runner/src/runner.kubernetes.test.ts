// The runner with the kubernetes driver, through the real @kubernetes/client-node, against the
// Kubernetes API double on 127.0.0.1 (loaded from a kubeconfig file), real NATS (JetStream) and a
// git server: the outcomes the Docker runner tests prove, with one Pod per run.
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import pino from "pino";
import { subjects, type RunLog, type RunReport } from "@optio/contracts";
import { KubernetesDriver } from "./kubernetes.driver";
import { DEFAULT_ENTRYPOINT } from "./local.driver";
import { ensureRunsStream } from "./testing/streams";
import { podName } from "./pod-spec";
import { planRun } from "./run-plan";
import type { Runner } from "./runner";
import { FakeDispatcher } from "./testing/fake-dispatcher";
import { runSpec, testConfig, testSecret } from "./testing/fixtures";
import { startGitServer, type GitServer } from "./testing/git-server";
import { KubeApiDouble } from "./testing/kube-api.double";
import { privateNats, type TestNats } from "./testing/nats";
import { runnerConnection, startTestRunner } from "./testing/test-runner";

jest.setTimeout(60_000);

const IMAGE = "optio/agent-test:double";
const auth = { username: "x-access-token", password: testSecret("ghs_") };
const kube = new KubeApiDouble();
kube.images.set(IMAGE, { entrypoint: DEFAULT_ENTRYPOINT });
let nats: TestNats;
let nc: NatsConnection;
let runnerNc: NatsConnection;
let git: GitServer;
let dispatcher: FakeDispatcher;
let runner: Runner;
let driver: KubernetesDriver;
let config: ReturnType<typeof testConfig>;
let orphan: string;

const last = (reports: RunReport[]) => reports.at(-1)!;
const logLines = (reports: RunReport[]) =>
  reports.filter((r): r is RunLog => r.kind === "log").flatMap((r) => r.lines);

function spec(repo: string, overrides: Parameters<typeof runSpec>[0] = {}) {
  git.createRepo(repo);
  return runSpec({
    repoUrl: git.url(repo),
    image: IMAGE,
    agentType: "shell",
    gitCredential: { source: "inline", username: auth.username, secret: auth.password },
    ...overrides,
  });
}

function dispatch(run: ReturnType<typeof runSpec>) {
  dispatcher.queue.push(run);
  nc.publish(subjects.dispatchWakeup(), JSON.stringify({ time: new Date().toISOString() }));
}

const podOf = (run: ReturnType<typeof runSpec>) => podName(run);
async function untilRunning(run: ReturnType<typeof runSpec>) {
  await dispatcher.until(run.runId, (r) => logLines(r).some((l) => l.content === "working"));
}

beforeAll(async () => {
  await kube.start();
  [nats, git] = await Promise.all([privateNats(), startGitServer(auth)]);
  config = testConfig({
    OPTIO_RUNNER_ID: "kube-runner-test",
    OPTIO_RUNNER_DRIVER: "kubernetes",
    OPTIO_RUNNER_KUBECONFIG: kube.kubeconfigPath,
    OPTIO_RUNNER_NETWORK: "host",
    OPTIO_RUNNER_SLOTS: "2",
    OPTIO_RUNNER_HEARTBEAT_MS: "300",
    OPTIO_RUNNER_POLL_MS: "600000",
    OPTIO_RUNNER_STOP_GRACE_MS: "1500",
    OPTIO_RUNNER_SHUTDOWN_MS: "500",
    OPTIO_RUNNER_KUBE_START_TIMEOUT_MS: "5000",
  });
  nc = await connect({ servers: nats.url, ...nats.tool });
  runnerNc = await runnerConnection(nats, config.OPTIO_RUNNER_ID);
  await ensureRunsStream(nc);
  dispatcher = new FakeDispatcher(nc);
  driver = new KubernetesDriver({ config, logger: pino({ level: "silent" }) });

  // A Pod left by a previous process of this runner, still running: removed on start.
  const left = spec("orphan", { prompt: "sleep 60" });
  orphan = podOf(left);
  await driver.start(planRun(left, { config, paths: driver.paths(), gitCredentials: {} }));

  runner = await startTestRunner({ config, nc: runnerNc, driver });
});

afterAll(async () => {
  await runner.shutdown();
  dispatcher.close();
  await runnerNc.close();
  await nc.close();
  await Promise.all([git.close(), nats.stop(), kube.close()]);
});

describe("Runner on Kubernetes (API double)", () => {
  it("removed the Pod and Secret a previous process left", async () => {
    expect(kube.secretNames()).not.toContain(orphan);
    // Deletion is asynchronous in Kubernetes: the Pod goes once its processes are killed.
    const deadline = Date.now() + 5000;
    while (kube.pod(orphan) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(kube.pod(orphan)).toBeUndefined();
    expect(kube.pod(orphan) ?? kube.submitted.find((p) => p.metadata!.name === orphan)).toMatchObject({
      metadata: { labels: { "optio.runner": "kube-runner-test" } },
    });
  });

  it("runs a task in a hardened Pod, streams its log and pushes the branch", async () => {
    const run = spec("success", { prompt: "echo working; echo note > note.txt" });
    dispatch(run);
    const reports = await dispatcher.exited(run.runId);
    expect(reports[0]).toMatchObject({ kind: "started", driver: "kubernetes", containerId: podOf(run) });
    expect(reports.find((r) => r.kind === "result")).toMatchObject({ exitCode: 0, pushed: true, commits: 1 });
    expect(last(reports)).toMatchObject({ kind: "exited", exitCode: 0, reason: "completed", error: null });
    expect(logLines(reports)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ stream: "stdout", content: "working" }),
        // The entrypoint's "[optio] " lines, told apart in the Pod's single log stream.
        expect.objectContaining({ stream: "system", content: `pushing 1 commit(s) to ${run.branchName}` }),
      ]),
    );
    expect(git.git("success", ["show", `${run.branchName}:note.txt`])).toBe("note\n");
    expect(JSON.stringify(reports)).not.toContain(auth.password);
    // The Pod as submitted: accepted by the double's policy, no secret in it; gone afterwards.
    const submitted = kube.submitted.find((p) => p.metadata!.name === podOf(run))!;
    expect(kube.rejected).toEqual([]);
    expect(JSON.stringify(submitted)).not.toContain(auth.password);
    expect(submitted.metadata!.labels).toMatchObject({
      "optio.run": run.runId,
      "optio.task": run.taskId,
      "optio.runner": "kube-runner-test",
    });
    expect(kube.pod(podOf(run))).toBeUndefined();
    expect(kube.secretNames()).not.toContain(podOf(run));
  });

  it("reports a failing agent", async () => {
    const run = spec("fail", { prompt: "echo oops >&2; exit 7" });
    dispatch(run);
    const reports = await dispatcher.exited(run.runId);
    expect(last(reports)).toMatchObject({ exitCode: 7, reason: "error", error: { code: "AGENT_FAILED" } });
    expect(logLines(reports).map((l) => l.content)).toContain("oops");
  });

  // The kernel's OOM killer, and node-pressure eviction (Optio retries that one as a new attempt).
  it.each([
    ["oom", (pod: string) => kube.oomKill(pod), { reason: "oom", oomKilled: true, code: "OOM_KILLED" }],
    [
      "evicted",
      (pod: string) => kube.evict(pod),
      { reason: "error", oomKilled: false, code: "CONTAINER_FAILED" },
    ],
  ] as const)("reports a run killed by the node (%s)", async (repo, kill, expected) => {
    const run = spec(repo, { prompt: "echo working; sleep 60" });
    dispatch(run);
    await untilRunning(run);
    kill(podOf(run));
    const reports = await dispatcher.exited(run.runId);
    expect(last(reports)).toMatchObject({
      exitCode: 137,
      reason: expected.reason,
      oomKilled: expected.oomKilled,
      error: { code: expected.code },
    });
  });

  it("cancels a run by deleting its Pod with the grace period", async () => {
    const run = spec("cancel", { prompt: "echo working; sleep 60" });
    dispatch(run);
    await untilRunning(run);
    const t0 = Date.now();
    nc.publish(
      subjects.runCancel("kube-runner-test", run.runId),
      JSON.stringify({ runId: run.runId, attempt: 1, reason: "cancelled" }),
    );
    const reports = await dispatcher.exited(run.runId);
    expect(Date.now() - t0).toBeLessThan(2000 + 3000); // grace (rounded up to 2 s) + latency
    expect(last(reports)).toMatchObject({ exitCode: 143, reason: "cancelled", error: { code: "CANCELLED" } });
    expect(kube.pod(podOf(run))).toBeUndefined();
  });

  it("stops a run past its timeout with RUN_TIMEOUT", async () => {
    const run = spec("timeout", { prompt: "echo working; sleep 60", timeoutSeconds: 2 });
    dispatch(run);
    const reports = await dispatcher.exited(run.runId);
    expect(last(reports)).toMatchObject({ reason: "timeout", error: { code: "RUN_TIMEOUT" } });
    expect(kube.pod(podOf(run))).toBeUndefined();
  });

  it("reports an image pull failure as IMAGE_NOT_FOUND without a started report", async () => {
    const run = spec("pull", { image: "optio/missing:nope" });
    dispatch(run);
    const reports = await dispatcher.exited(run.runId);
    expect(reports.map((r) => r.kind)).toEqual(["exited"]);
    expect(last(reports)).toMatchObject({
      exitCode: null,
      reason: "error",
      error: { code: "IMAGE_NOT_FOUND" },
    });
    expect(last(reports).kind === "exited" && last(reports)).toMatchObject({
      error: { message: expect.stringContaining("ErrImageNeverPull") },
    });
    expect(kube.pod(podOf(run))).toBeUndefined();
    expect(kube.secretNames()).not.toContain(podOf(run));
  });
});
