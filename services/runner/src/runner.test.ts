// The runner against real NATS (JetStream), the real Docker engine with the test agent image, and a
// git server on 127.0.0.1. A fake dispatcher plays the API's side of the wire.
import { randomUUID } from "node:crypto";
import { subjects, type RunLog, type RunReport } from "@optio/contracts";
import { runSpec, testConfig, testSecret } from "./testing/fixtures";
import { useDockerRunnerWorld } from "./testing/docker-runner-world";

jest.setTimeout(120_000);

const anthropicKey = testSecret("sk-ant-");
const auth = { username: "x-access-token", password: testSecret("ghs_") };

const config = testConfig({
  OPTIO_RUNNER_ID: "runner-test",
  OPTIO_RUNNER_NETWORK: "host",
  OPTIO_RUNNER_SLOTS: "2",
  OPTIO_RUNNER_HEARTBEAT_MS: "300",
  OPTIO_RUNNER_POLL_MS: "600000", // only wakeups bring work in these tests
  OPTIO_RUNNER_STOP_GRACE_MS: "1500",
  OPTIO_RUNNER_SHUTDOWN_MS: "500",
});
const world = useDockerRunnerWorld(config, auth);

const kinds = (reports: RunReport[]) => reports.map((r) => r.kind);
const logLines = (reports: RunReport[]) =>
  reports.filter((r): r is RunLog => r.kind === "log").flatMap((r) => r.lines);
const last = (reports: RunReport[]) => reports.at(-1)!;

function spec(repo: string, overrides: Parameters<typeof runSpec>[0] = {}) {
  world.git.createRepo(repo);
  return runSpec({
    repoUrl: world.git.url(repo),
    image: world.image,
    gitCredential: { source: "inline", username: auth.username, secret: auth.password },
    ...overrides,
  });
}

describe("Runner", () => {
  it("claims on wakeup, runs claude in a container, streams redacted logs and reports the result", async () => {
    const run = spec("e2e", {
      agentType: "claude",
      title: "Add a note",
      prompt: "Add a note FAKE_PRINT_SECRET",
      secretEnv: { ANTHROPIC_API_KEY: anthropicKey },
    });
    const t0 = Date.now();
    world.dispatch(run);
    const reports = await world.dispatcher.exited(run.runId);
    const elapsed = Date.now() - t0;

    expect(reports.map((r) => r.seq)).toEqual(reports.map((_, i) => i + 1)); // gapless, ordered
    expect(
      reports.every((r) => r.attempt === 1 && r.taskId === run.taskId && r.runnerId === "runner-test"),
    ).toBe(true);
    expect(kinds(reports)[0]).toBe("started");
    expect(kinds(reports).slice(-2)).toEqual(["result", "exited"]);
    expect(reports.find((r) => r.kind === "result")).toMatchObject({
      exitCode: 0,
      branch: run.branchName,
      pushed: true,
      commits: 1,
      costUsd: 0.0123,
      inputTokens: 335,
      outputTokens: 37,
      model: "claude-sonnet-4-5-20250929",
      error: null,
    });
    expect(last(reports)).toMatchObject({
      kind: "exited",
      exitCode: 0,
      reason: "completed",
      oomKilled: false,
      error: null,
    });

    const lines = logLines(reports);
    expect(lines.map((l) => l.n)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.map((l) => l.type)).toEqual(
      expect.arrayContaining(["system", "session", "text", "tool_call", "tool_result", "usage"]),
    );
    expect(lines.find((l) => l.type === "tool_call")).toMatchObject({ data: { toolName: "Write" } });
    const everything = JSON.stringify(reports);
    expect(everything).not.toContain(anthropicKey);
    expect(everything).not.toContain(auth.password);
    expect(lines.some((l) => l.content === "the key is [REDACTED]")).toBe(true);
    expect(world.git.git("e2e", ["log", "-1", "--format=%s", run.branchName]).trim()).toBe(
      "optio: Add a note",
    );
    expect(world.dispatcher.claims[0]).toMatchObject({
      runnerId: "runner-test",
      agentTypes: ["claude", "codex", "shell"],
    });
    expect((await world.driver.list()).map((u) => u.runId)).not.toContain(run.runId);
    console.log(`runner: wakeup → claim → container → pushed → exited in ${elapsed} ms`);
  });

  it("runs a shell task and reports needs-attention material when nothing changed", async () => {
    const run = spec("shell", { agentType: "shell", prompt: "echo listing; ls" });
    world.dispatch(run);
    const reports = await world.dispatcher.exited(run.runId);
    expect(reports.find((r) => r.kind === "result")).toMatchObject({
      exitCode: 0,
      pushed: false,
      commits: 0,
      error: null,
    });
    expect(last(reports)).toMatchObject({ reason: "completed" });
    expect(
      logLines(reports)
        .filter((l) => l.type === "text")
        .map((l) => l.content),
    ).toEqual(["listing", "README.md"]);
  });

  it("keeps renewing a finished run's lease until the API says the run is closed", async () => {
    const run = spec("finishing", { agentType: "shell", prompt: "true" });
    world.dispatch(run);
    await world.dispatcher.exited(run.runId);
    const held = { runId: run.runId, attempt: 1 };
    const beatAfter = async (t: number) => {
      while (!world.dispatcher.heartbeats.some((h, i) => i >= t)) await new Promise((r) => setTimeout(r, 50));
      return world.dispatcher.heartbeats.at(-1)!;
    };
    const next = await beatAfter(world.dispatcher.heartbeats.length);
    expect(next.runs).toContainEqual(held);
    expect(next.slots.busy).toBe(0);
    world.dispatcher.stopDirectives = [{ ...held, reason: "lease_lost" }];
    await beatAfter(world.dispatcher.heartbeats.length); // answered with the stop
    world.dispatcher.stopDirectives = [];
    expect((await beatAfter(world.dispatcher.heartbeats.length)).runs).not.toContainEqual(held);
  });

  it("reports a failing agent", async () => {
    const run = spec("fail", { agentType: "shell", prompt: "echo oops >&2; exit 7" });
    world.dispatch(run);
    const reports = await world.dispatcher.exited(run.runId);
    expect(last(reports)).toMatchObject({ exitCode: 7, reason: "error", error: { code: "AGENT_FAILED" } });
    expect(logLines(reports)).toEqual(
      expect.arrayContaining([expect.objectContaining({ stream: "stderr", content: "oops" })]),
    );
  });

  it("cancels a run on its runner's cancel subject within the grace period", async () => {
    const run = spec("cancel", { agentType: "claude", prompt: "FAKE_SLEEP=60" });
    world.dispatch(run);
    await world.dispatcher.until(run.runId, (r) =>
      logLines(r).some((l) => l.content.includes("working (1)")),
    );
    const t0 = Date.now();
    world.nc.publish(
      subjects.runCancel("runner-test", run.runId),
      JSON.stringify({ runId: run.runId, attempt: 1, reason: "cancelled" }),
    );
    const reports = await world.dispatcher.exited(run.runId);
    expect(Date.now() - t0).toBeLessThan(1500 + 3500); // grace + engine latency on a loaded machine
    expect(last(reports)).toMatchObject({ reason: "cancelled", error: { code: "CANCELLED" } });
    expect((await world.driver.list()).map((u) => u.runId)).not.toContain(run.runId);
  });

  it("writes a message on optio.runner.<id>.run.<runId>.message to the running claude, which answers it in its session", async () => {
    const run = spec("message", { agentType: "claude", prompt: "Start the work FAKE_SLEEP=5" });
    world.dispatch(run);
    await world.dispatcher.until(run.runId, (r) =>
      logLines(r).some((l) => l.content.includes("working (1)")),
    );
    const send = async (text: string) =>
      (
        await world.nc.request(
          subjects.runMessage("runner-test", run.runId),
          JSON.stringify({ runId: run.runId, attempt: 1, messageId: randomUUID(), text }),
          { timeout: 5000 },
        )
      ).json();
    expect(await send("Also add a second line")).toEqual({
      delivered: true,
      interrupted: false,
      reason: null,
    });

    // The message joined the working turn (the fake names it in its answer); once that turn was
    // answered the runner closed the agent's stdin and the run ended as usual.
    const reports = await world.dispatcher.exited(run.runId);
    expect(last(reports)).toMatchObject({ reason: "completed", exitCode: 0 });
    const lines = logLines(reports);
    expect(
      lines.filter((l) => l.content.startsWith("the agent took a message")).map((l) => l.content),
    ).toEqual([
      "the agent took a message: Start the work FAKE_SLEEP=5",
      "the agent took a message: Also add a second line",
    ]);
    expect(
      lines.some((l) => l.type === "text" && l.content === "Done. Also took: Also add a second line"),
    ).toBe(true);
    expect(lines.filter((l) => l.type === "session")).toHaveLength(1);
    expect(await send("too late")).toEqual({
      delivered: false,
      interrupted: false,
      reason: "the run is not running on its runner",
    });
  });

  it("answers that a shell agent takes no message while it runs", async () => {
    const run = spec("message-shell", { agentType: "shell", prompt: "echo started; sleep 3" });
    world.dispatch(run);
    await world.dispatcher.until(run.runId, (r) => logLines(r).some((l) => l.content === "started"));
    const reply = await world.nc.request(
      subjects.runMessage("runner-test", run.runId),
      JSON.stringify({ runId: run.runId, attempt: 1, messageId: randomUUID(), text: "hello" }),
      { timeout: 5000 },
    );
    expect(reply.json()).toEqual({
      delivered: false,
      interrupted: false,
      reason: "shell reads no messages while it runs",
    });
    expect(last(await world.dispatcher.exited(run.runId))).toMatchObject({ reason: "completed" });
  });

  it("ignores a cancel for another attempt, and stops a run the heartbeat reply fences", async () => {
    const run = spec("fenced", { agentType: "claude", prompt: "FAKE_SLEEP=60", attempt: 2 });
    world.dispatch(run);
    await world.dispatcher.until(run.runId, (r) => r.some((x) => x.kind === "started"));
    world.nc.publish(
      subjects.runCancel("runner-test", run.runId),
      JSON.stringify({ runId: run.runId, attempt: 1 }),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(kinds(world.dispatcher.reportsOf(run.runId))).not.toContain("exited");
    expect(world.dispatcher.heartbeats.at(-1)!.runs).toContainEqual({ runId: run.runId, attempt: 2 });
    world.dispatcher.stopDirectives = [{ runId: run.runId, attempt: 2, reason: "superseded" }];
    const reports = await world.dispatcher.exited(run.runId);
    world.dispatcher.stopDirectives = [];
    expect(last(reports)).toMatchObject({ reason: "superseded", error: { code: "SUPERSEDED" } });
  });

  it("stops a run past its timeout with RUN_TIMEOUT and sends run heartbeats meanwhile", async () => {
    const run = spec("timeout", { agentType: "claude", prompt: "FAKE_SLEEP=60", timeoutSeconds: 2 });
    world.dispatch(run);
    const reports = await world.dispatcher.exited(run.runId);
    expect(last(reports)).toMatchObject({ reason: "timeout", error: { code: "RUN_TIMEOUT" } });
    expect(kinds(reports).filter((k) => k === "heartbeat").length).toBeGreaterThanOrEqual(3);
  });

  it("fails a run killed for memory with OOM_KILLED", async () => {
    const run = spec("oom", {
      agentType: "claude",
      prompt: "FAKE_OOM",
      limits: { memoryMb: 48, cpus: 1, pids: 64 },
    });
    world.dispatch(run);
    const reports = await world.dispatcher.exited(run.runId);
    expect(last(reports)).toMatchObject({ reason: "oom", oomKilled: true, error: { code: "OOM_KILLED" } });
  });

  it("reports a start failure (missing image) as exited without a container", async () => {
    const run = runSpec({ image: "optio/missing:nope" });
    world.dispatch(run);
    const reports = await world.dispatcher.exited(run.runId);
    expect(kinds(reports)).toEqual(["exited"]);
    expect(last(reports)).toMatchObject({
      exitCode: null,
      reason: "error",
      error: { code: "IMAGE_NOT_FOUND" },
    });
  });

  it("runs two slots in parallel and announces busy slots in heartbeats", async () => {
    const a = spec("slot-a", { agentType: "shell", prompt: "sleep 2; echo a > a.txt" });
    const b = spec("slot-b", { agentType: "shell", prompt: "sleep 2; echo b > b.txt" });
    world.dispatch(a);
    world.dispatch(b);
    await world.dispatcher.until(a.runId, (r) => r.some((x) => x.kind === "started"));
    await world.dispatcher.until(b.runId, (r) => r.some((x) => x.kind === "started"));
    await new Promise((r) => setTimeout(r, 400));
    expect(world.dispatcher.heartbeats.at(-1)!.slots).toEqual({ total: 2, busy: 2 });
    await Promise.all([world.dispatcher.exited(a.runId), world.dispatcher.exited(b.runId)]);
    // They overlapped: each started before the other exited.
    const at = (runId: string, kind: string) =>
      Date.parse(world.dispatcher.reportsOf(runId).find((r) => r.kind === kind)!.time);
    expect(at(a.runId, "started")).toBeLessThan(at(b.runId, "exited"));
    expect(at(b.runId, "started")).toBeLessThan(at(a.runId, "exited"));
    for (const run of [a, b])
      expect(last(world.dispatcher.reportsOf(run.runId))).toMatchObject({ reason: "completed" });
  });
});
