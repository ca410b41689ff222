import type { AddressInfo } from "node:net";
import type { RunSpec } from "@optio/contracts";
import { useDispatchWorld } from "./fixtures";
import { SseClient } from "../helpers/sse-client";
import { ScriptedRunner, started } from "./protocol";

const world = useDispatchWorld();
let token: string;
let base: string;
let runner: ScriptedRunner;

beforeAll(async () => {
  token = world.auth.authorization.slice("Bearer ".length);
  await world.ctx.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(world.ctx.app.server.address() as AddressInfo).port}`;
  runner = new ScriptedRunner(world.ctx.nats, "r-live");
});

const auth = () => ({ authorization: `Bearer ${token}` });

let repos = 0;
async function runningTask(): Promise<RunSpec> {
  repos++;
  await world.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({
      title: "Live",
      prompt: "echo",
      repoUrl: `https://example.com/acme/live-${repos}`,
      agentType: "shell",
    })
    .expect(201);
  const spec = (await runner.claim())!;
  await runner.report(spec, started);
  return spec;
}

function lines(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    n: from + i,
    stream: "stdout" as const,
    type: "text" as const,
    time: new Date().toISOString(),
    content: `line ${from + i}`,
  }));
}

describe("GET /api/tasks/:id/logs", () => {
  it("pages by cursor, filters by type and search, and 404s an unknown task", async () => {
    const spec = await runningTask();
    await runner.report(spec, { kind: "log", lines: lines(1, 5) });
    await runner.report(spec, {
      kind: "log",
      lines: [
        { n: 6, stream: "stderr", type: "error", time: new Date().toISOString(), content: "Boom happened" },
      ],
    });
    const all = await (async () => {
      for (let i = 0; i < 100; i++) {
        const res = await world.ctx.http.get(`/api/tasks/${spec.taskId}/logs`).set(auth()).expect(200);
        if (res.body.logs.length === 6) return res.body;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("logs were not stored");
    })();
    expect(all.logs.map((l: { content: string }) => l.content)).toEqual([
      "line 1",
      "line 2",
      "line 3",
      "line 4",
      "line 5",
      "Boom happened",
    ]);
    expect(all.logs[0]).toMatchObject({
      runId: spec.runId,
      attempt: 1,
      seq: 1,
      stream: "stdout",
      type: "text",
    });

    const first = await world.ctx.http.get(`/api/tasks/${spec.taskId}/logs?limit=4`).set(auth()).expect(200);
    expect(first.body.logs).toHaveLength(4);
    const rest = await world.ctx.http
      .get(`/api/tasks/${spec.taskId}/logs?after=${first.body.nextCursor}`)
      .set(auth())
      .expect(200);
    expect(rest.body.logs.map((l: { seq: number }) => l.seq)).toEqual([5, 6]);
    expect(rest.body.nextCursor).toBeNull();

    const errors = await world.ctx.http
      .get(`/api/tasks/${spec.taskId}/logs?type=error`)
      .set(auth())
      .expect(200);
    expect(errors.body.logs.map((l: { content: string }) => l.content)).toEqual(["Boom happened"]);
    const search = await world.ctx.http
      .get(`/api/tasks/${spec.taskId}/logs?search=boom`)
      .set(auth())
      .expect(200);
    expect(search.body.logs).toHaveLength(1);

    await world.ctx.http.get(`/api/tasks/00000000-0000-4000-8000-000000000000/logs`).set(auth()).expect(404);
    const bad = await world.ctx.http.get(`/api/tasks/${spec.taskId}/logs?after=abc`).set(auth()).expect(400);
    expect(bad.body.details[0].path).toBe("query.after");
  });
});

describe("live streams (SSE)", () => {
  it("streams logs as they are stored and resumes from Last-Event-ID without gaps or repeats", async () => {
    const spec = await runningTask();
    await runner.report(spec, { kind: "log", lines: lines(1, 3) });
    const first = await SseClient.open(`${base}/api/tasks/${spec.taskId}/logs/stream?token=${token}`);
    expect(first.status).toBe(200);
    await first.waitForCount(3);
    await runner.report(spec, { kind: "log", lines: lines(4, 2) });
    await first.waitForCount(5);
    first.close();
    const lastId = first.events[4]!.id;

    await runner.report(spec, { kind: "log", lines: lines(6, 3) }); // while disconnected
    const second = await SseClient.open(`${base}/api/tasks/${spec.taskId}/logs/stream`, {
      ...auth(),
      "last-event-id": lastId,
    });
    await runner.report(spec, { kind: "log", lines: lines(9, 1) });
    const resumed = await second.waitForCount(4);
    second.close();
    const seqs = [...first.events, ...resumed].map((e) => (e.data as { seq: number }).seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("streams task events, filtered by task, resumable", async () => {
    const spec = await runningTask();
    const stream = await SseClient.open(`${base}/api/events/stream?taskId=${spec.taskId}`, auth());
    await new Promise((r) => setTimeout(r, 200));
    await world.ctx.http
      .post(`/api/tasks/${spec.taskId}/comments`)
      .set(auth())
      .send({ content: "hello" })
      .expect(201);
    await world.ctx.http.post(`/api/tasks/${spec.taskId}/cancel`).set(auth()).expect(200);
    const isCancel = (e: { data: unknown }) =>
      (e.data as { data: { toState?: string } }).data.toState === "cancelled";
    const deadline = Date.now() + 8_000;
    while (!stream.events.some(isCancel) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const events = stream.events;
    stream.close();
    expect(
      events.every((e) => (e.data as { subject: string }).subject.startsWith(`optio.task.${spec.taskId}.`)),
    ).toBe(true);
    expect(events.some(isCancel)).toBe(true);
    expect(events.some((e) => (e.data as { type: string }).type === "task.comment_added")).toBe(true);

    const resumed = await SseClient.open(
      `${base}/api/events/stream?taskId=${spec.taskId}&after=${events[0]!.id}`,
      auth(),
    );
    const again = await resumed.waitForCount(1);
    resumed.close();
    expect(again[0]!.id).toBe(events[1]!.id);
  });

  it("requires a credential", async () => {
    const anonymous = await SseClient.open(`${base}/api/events/stream`);
    expect(anonymous.status).toBe(401);
    anonymous.close();
  });
});
