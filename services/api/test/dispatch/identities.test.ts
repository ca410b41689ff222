// The runner protocol under NATS authorization, from the host with the real @nats-io client: the
// API's identity can do all it needs, a runner's identity only its own part, and nothing without
// credentials. Runners here are ScriptedRunners on connections made the way a runner makes its own
// (services/runner/src/nats.ts: its identity, its own inbox prefix).
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { RUNS_STREAM, runnerInboxPrefix, subjects, type RunCancel } from "@optio/contracts";
import { connectNats as connectRunner } from "../../../runner/src/nats";
import { eventually } from "../helpers/eventually";
import { useDispatchWorld } from "./fixtures";
import { ScriptedRunner, exited, resultOk, started } from "./protocol";

const world = useDispatchWorld({ OPTIO_LEASE_MS: 120_000 });
const { createTask, taskState, drainQueue, startRun } = world.fixtures;
const connections: NatsConnection[] = [];

async function asRunner(runnerId: string): Promise<NatsConnection> {
  const nc = await connectRunner({
    url: world.nats.url,
    name: `test-${runnerId}`,
    runnerId,
    credentials: await world.nats.addRunner(runnerId),
  });
  connections.push(nc);
  return nc;
}

/** What the server answers a subscription: null when it is allowed (still open after a round trip). */
async function subscribeVerdict(nc: NatsConnection, subject: string): Promise<string | null> {
  const sub = nc.subscribe(subject);
  const closed = sub.closed.then((error) => error?.message ?? "closed");
  await nc.flush();
  const verdict = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 300))]);
  if (verdict === null) sub.unsubscribe();
  return verdict;
}

afterAll(async () => {
  for (const nc of connections) await nc.close();
});

describe("without credentials", () => {
  it("refuses an anonymous client and guessed passwords", async () => {
    await expect(connect({ servers: world.nats.url, reconnect: false })).rejects.toThrow(
      "Authorization Violation",
    );
    for (const [user, pass] of [
      ["optio-api", "optio"],
      ["optio-api", "password"],
      ["runner-r1", "runner-r1"],
      [world.nats.api.user, `${world.nats.api.pass}x`],
    ])
      await expect(connect({ servers: world.nats.url, reconnect: false, user, pass })).rejects.toThrow(
        "Authorization Violation",
      );
  });
});

describe("a runner's identity", () => {
  it("runs the whole protocol: claim, heartbeat, reports, and its cancel", async () => {
    const nc = await asRunner("id-ok");
    const runner = new ScriptedRunner(nc, "id-ok");
    await drainQueue(runner);
    runner.announce();
    const { task, spec } = await startRun(runner); // claim (reply on its inbox), started (JetStream ack)
    expect((await runner.heartbeat([spec])).stop).toEqual([]);
    const cancels: RunCancel[] = [];
    nc.subscribe(subjects.runCancel("id-ok", "*"), { callback: (_e, m) => void cancels.push(m.json()) });
    await nc.flush();
    await world.ctx.http.post(`/api/tasks/${task.id}/cancel`).set(world.auth).expect(200);
    await eventually(
      "the cancel reaches the runner holding the run",
      async () => cancels,
      (c) => c.some((cancel) => cancel.runId === spec.runId),
    );
    await runner.report(spec, exited);
    expect(await taskState(task.id)).toBe("cancelled");

    const next = await createTask();
    const claimed = await runner.claim();
    expect(claimed?.taskId).toBe(next.id);
    await runner.report(claimed!, started);
    await runner.report(claimed!, resultOk);
    await eventually(
      "completed",
      () => taskState(next.id),
      (s) => s === "completed",
    );
  });

  it("may not listen to everything, to any inbox but its own, or to another runner's cancels", async () => {
    const nc = await asRunner("id-spy");
    await asRunner("id-victim");
    for (const subject of [
      ">",
      "optio.>",
      "_INBOX.>",
      `${runnerInboxPrefix("id-victim")}.>`,
      subjects.runCancel("id-victim", "*"),
      subjects.runnerClaim("*"),
      subjects.runReport("*", "*", "result"),
      "$JS.API.>",
    ])
      expect({ subject, verdict: await subscribeVerdict(nc, subject) }).toEqual({
        subject,
        verdict: `Permissions Violation for Subscription to "${subject}"`,
      });
    expect(await subscribeVerdict(nc, `${runnerInboxPrefix("id-spy")}.>`)).toBeNull();
    expect(await subscribeVerdict(nc, subjects.runCancel("id-spy", "*"))).toBeNull();
    expect(await subscribeVerdict(nc, subjects.dispatchWakeup())).toBeNull();
  });

  it("may not claim, heartbeat or report as another runner, nor reach JetStream's API", async () => {
    const nc = await asRunner("id-forger");
    const victim = new ScriptedRunner(await asRunner("id-held"), "id-held");
    await drainQueue(victim);
    const { spec } = await startRun(victim);
    const seen: string[] = [];
    world.ctx.nats.subscribe(subjects.runReport("id-held", spec.runId, "*"), {
      callback: (_e, m) => void seen.push(m.subject),
    });
    await world.ctx.nats.flush();

    const forged = new ScriptedRunner(nc, "id-held"); // claims to be the victim on the victim's subjects
    await expect(forged.claim()).rejects.toThrow(
      'Permissions Violation for Publish to "optio.runner.id-held.claim"',
    );
    await expect(forged.heartbeat([spec])).rejects.toThrow("Permissions Violation for Publish");
    await expect(
      jetstream(nc).publish(subjects.runReport("id-held", spec.runId, "result"), "{}", { timeout: 1000 }),
    ).rejects.toThrow();
    // Of JetStream's API, a runner reaches the agent sessions' object store alone: not the report
    // stream, nor a stream of its own.
    const jsm = await jetstream(nc).jetstreamManager();
    await expect(jsm.streams.info(RUNS_STREAM)).rejects.toThrow("Permissions Violation");
    await expect(jsm.streams.add({ name: "ROGUE", subjects: ["rogue.>"] })).rejects.toThrow(
      "Permissions Violation",
    );
    await expect(jsm.streams.purge(RUNS_STREAM)).rejects.toThrow("Permissions Violation");
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
    expect(await taskState(spec.taskId)).toBe("running");
  });

  it("is believed only for itself: the API refuses messages naming another runner on its own subjects", async () => {
    const nc = await asRunner("id-liar");
    const holder = new ScriptedRunner(await asRunner("id-holder"), "id-holder");
    await drainQueue(holder);
    const { spec } = await startRun(holder);

    // A claim on its own subject that names another runner: refused, nothing claimed.
    const queued = await createTask();
    const reply = await nc.request(
      subjects.runnerClaim("id-liar"),
      JSON.stringify({ runnerId: "id-holder", freeSlots: 1, agentTypes: ["shell"], labels: [] }),
      { timeout: 5000 },
    );
    expect(reply.json()).toEqual({ error: "runner id does not match the subject" });
    expect(await taskState(queued.id)).toBe("queued");

    // A report on its own subject about a run it does not hold: refused and fenced, the run unmoved.
    const cancels: RunCancel[] = [];
    nc.subscribe(subjects.runCancel("id-liar", "*"), { callback: (_e, m) => void cancels.push(m.json()) });
    await nc.flush();
    const liar = new ScriptedRunner(nc, "id-liar");
    await liar.report(spec, resultOk, 2);
    await eventually(
      "the liar is told to stop",
      async () => cancels,
      (c) => c.some((cancel) => cancel.runId === spec.runId && cancel.reason === "superseded"),
    );
    // A report on its subject whose payload names the holder: dropped. Its message id is the one
    // the holder's next report would have had before ids got a nonce: the stream deduplicates by id
    // whatever the subject, so a predictable id would have had the holder's result dropped.
    await jetstream(nc).publish(
      subjects.runReport("id-liar", spec.runId, "result"),
      JSON.stringify({ ...resultOk, ...spec, seq: 2, runnerId: "id-holder", time: new Date().toISOString() }),
      { msgID: `${spec.runId}:1:2` },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await taskState(spec.taskId)).toBe("running");
    const run = await world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } });
    expect(run).toMatchObject({ runnerId: "id-holder", lastReportSeq: 1, state: "running" });

    // The holder's own result still applies.
    await holder.report(spec, resultOk);
    await eventually(
      "completed",
      () => taskState(spec.taskId),
      (s) => s === "completed",
    );
  });
});

describe("the API's identity", () => {
  it("hears every subject and reads the streams", async () => {
    expect(await subscribeVerdict(world.ctx.nats, ">")).toBeNull();
    const streams = await (await jetstream(world.ctx.nats).jetstreamManager()).streams.names().next();
    expect(streams).toEqual(expect.arrayContaining(["OPTIO_EVENTS", "OPTIO_RUNS"]));
  });
});
