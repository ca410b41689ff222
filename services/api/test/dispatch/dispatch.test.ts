import { randomUUID } from "node:crypto";
import { eventually } from "../helpers/eventually";
import { useDispatchWorld } from "./fixtures";
import { ScriptedRunner, exited, resultOk, started } from "./protocol";

// Leases outlive the tests here (leases.test.ts covers expiry); runners go stale quickly.
const world = useDispatchWorld({ OPTIO_LEASE_MS: 120_000, OPTIO_RUNNER_STALE_MS: 3_000 });
const { createTask, taskState, drainQueue, startRun, queueBacklog } = world.fixtures;

describe("claims", () => {
  it("hands a queued task to one runner with a full run spec, then nothing", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-claims");
    const task = await createTask({ priority: 5 });
    const spec = await runner.claim();
    expect(spec).toMatchObject({
      taskId: task.id,
      attempt: 1,
      agentType: "shell",
      prompt: "echo hi",
      repoUrl: task && expect.stringContaining("example.com/acme/"),
      repoBranch: "main",
      image: "optio/agent:local",
      timeoutSeconds: 3600,
    });
    expect(spec!.branchName).toMatch(new RegExp(`^optio/${task.id.replace(/-/g, "").slice(0, 8)}-task-`));
    expect(await taskState(task.id)).toBe("provisioning");
    const run = await world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec!.runId } });
    expect(run).toMatchObject({ state: "provisioning", runnerId: "r-claims", attempt: 1 });
    expect(run.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(await runner.claim()).toBeNull();
  });

  it("claims by priority, then position, and only agent types the runner supports", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-order", ["shell"]);
    await drainQueue(runner);
    const low = await createTask({ priority: 500 });
    const high = await createTask({ priority: 1 });
    const claude = await createTask({ priority: 0, agentType: "claude" });
    expect((await runner.claim())!.taskId).toBe(high.id);
    expect((await runner.claim())!.taskId).toBe(low.id);
    expect(await runner.claim()).toBeNull();
    expect(await taskState(claude.id)).toBe("queued");
  });

  it("respects the repo's maxConcurrentTasks", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-limit");
    await drainQueue(runner);
    await world.ctx.http
      .post("/api/repos")
      .set(world.auth)
      .send({ repoUrl: "https://example.com/acme/limited", maxConcurrentTasks: 1 })
      .expect(201);
    const first = await createTask({ repoUrl: "https://example.com/acme/limited" });
    const second = await createTask({ repoUrl: "https://example.com/acme/limited" });
    const spec = await runner.claim();
    expect(spec!.taskId).toBe(first.id);
    expect(await runner.claim()).toBeNull();
    await runner.report(spec!, started);
    await runner.report(spec!, resultOk);
    await eventually(
      "first completes",
      () => taskState(first.id),
      (s) => s === "completed",
    );
    expect((await runner.claim())!.taskId).toBe(second.id);
  });

  it("finds work behind a backlog of a busy repo longer than the queue head it scans first", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-backlog");
    await drainQueue(runner);
    const busyRepo = "https://example.com/acme/backlog";
    await world.ctx.http
      .post("/api/repos")
      .set(world.auth)
      .send({ repoUrl: busyRepo, maxConcurrentTasks: 1 })
      .expect(201);
    const running = await createTask({ repoUrl: busyRepo, priority: 0 });
    expect((await runner.claim())!.taskId).toBe(running.id);
    // 300 more top-priority tasks wait on the busy repo; the only runnable task comes after them.
    await queueBacklog(busyRepo, 300);
    const other = await createTask({ priority: 900 });
    expect((await runner.claim())!.taskId).toBe(other.id);
    expect(await runner.claim()).toBeNull();
  });

  it("never hands one task to two runners claiming at once", async () => {
    const runners = [
      new ScriptedRunner(world.ctx.nats, "r-a"),
      new ScriptedRunner(world.ctx.nats, "r-b"),
      new ScriptedRunner(world.ctx.nats, "r-c"),
    ];
    await drainQueue(runners[0]!);
    const ids = new Set<string>();
    for (let i = 0; i < 12; i++)
      ids.add((await createTask({ repoUrl: `https://example.com/race/r${i}` })).id);
    const claimed: string[] = [];
    await Promise.all(
      runners.map(async (runner) => {
        for (;;) {
          const spec = await runner.claim();
          if (!spec) return;
          claimed.push(spec.taskId);
        }
      }),
    );
    expect(claimed.sort()).toEqual([...ids].sort());
    expect(
      await world.ctx.prisma.run.count({ where: { taskId: { in: [...ids] }, state: "provisioning" } }),
    ).toBe(12);
  });

  it("answers a repeated claim (a lost reply) with the same run, while it is still unstarted", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-repeat");
    await drainQueue(runner);
    const first = await createTask();
    await createTask();
    const claimId = randomUUID();
    const spec = (await runner.claim(claimId))!;
    expect(spec.taskId).toBe(first.id);
    expect(await runner.claim(claimId)).toEqual(spec);
    expect(await world.ctx.prisma.run.count({ where: { runnerId: "r-repeat" } })).toBe(1);
    // Another runner repeating that id gets nothing; once started, the claim is spent.
    expect(await new ScriptedRunner(world.ctx.nats, "r-other").claim(claimId)).toBeNull();
    await runner.report(spec, started);
    await eventually(
      "running",
      () => taskState(first.id),
      (s) => s === "running",
    );
    expect(await runner.claim(claimId)).toBeNull();
  });
});

describe("reports", () => {
  it("moves the task through running to completed, storing logs, cost and the branch", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-reports");
    await drainQueue(runner);
    const { task, spec } = await startRun(runner);
    await runner.report(spec, {
      kind: "log",
      lines: [
        { n: 1, stream: "stdout", type: "text", time: new Date().toISOString(), content: "hello" },
        {
          n: 2,
          stream: "stderr",
          type: "stderr",
          time: new Date().toISOString(),
          content: "key ghp_abcdefghijklmnopqrstuvwxyz0123",
        },
      ],
    });
    await runner.report(spec, resultOk);
    await runner.report(spec, exited);
    await eventually(
      "completed",
      () => taskState(task.id),
      (s) => s === "completed",
    );
    const row = await world.ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row).toMatchObject({
      branchName: "optio/x",
      sessionId: "sess-1",
      inputTokens: 100n,
      outputTokens: 50n,
    });
    expect(row.costUsd.toString()).toBe("0.25");
    const logs = await world.ctx.prisma.taskLog.findMany({
      where: { taskId: task.id },
      orderBy: { seq: "asc" },
    });
    expect(logs.map((l) => l.content)).toEqual(["hello", "key [REDACTED]"]);
    // The task completes with the result (seq 3); the exit (seq 4) is applied after it.
    const run = await eventually(
      "the exit applied",
      () => world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } }),
      (r) => r.lastReportSeq === 4,
    );
    expect(run).toMatchObject({ state: "succeeded", exitCode: 0, lastReportSeq: 4 });
    const history = await world.ctx.prisma.taskEvent.findMany({
      where: { taskId: task.id },
      orderBy: { seq: "asc" },
    });
    expect(history.map((e) => `${e.fromState}->${e.toState}:${e.trigger}`)).toEqual(
      expect.arrayContaining([
        "queued->provisioning:claimed",
        "provisioning->running:run_started",
        "running->completed:run_succeeded",
      ]),
    );
  });

  it("applies reports in sequence even when they arrive out of order, and each once", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-order2");
    await drainQueue(runner);
    const task = await createTask();
    const spec = (await runner.claim())!;
    await runner.report(spec, { ...resultOk, commits: 0, pushed: false }, 2); // early
    await runner.report(spec, started, 1);
    await runner.report(spec, started, 1); // a duplicate (different msg id? same: deduplicated)
    await eventually(
      "needs attention",
      () => taskState(task.id),
      (s) => s === "needs_attention",
    );
    const events = await world.ctx.prisma.taskEvent.count({
      where: { taskId: task.id, trigger: "run_started" },
    });
    expect(events).toBe(1);
    expect((await world.ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } })).errorMessage).toMatch(
      /without changing/,
    );
  });

  it("fails the task with a clear reason when the container was OOM-killed", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-oom");
    await drainQueue(runner);
    const task = await createTask();
    const spec = (await runner.claim())!;
    await runner.report(spec, started);
    await runner.report(spec, { ...exited, exitCode: 137, reason: "oom", oomKilled: true });
    await eventually(
      "failed",
      () => taskState(task.id),
      (s) => s === "failed",
    );
    const row = await world.ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row.errorMessage).toMatch(/^OOM_KILLED: .*out of memory/);
  });
});

describe("GET /api/runners", () => {
  it("lists runners that heartbeat and drops those that stop", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-listed");
    await runner.heartbeat([]);
    const res = await world.ctx.http.get("/api/runners").set(world.auth).expect(200);
    const listed = res.body.runners.find((r: { runnerId: string }) => r.runnerId === "r-listed");
    expect(listed).toMatchObject({
      driver: "local",
      isolated: false,
      slots: { total: 4, busy: 0 },
      agentTypes: ["claude", "codex", "shell"],
    });
    await eventually(
      "gone",
      async () =>
        (await world.ctx.http.get("/api/runners").set(world.auth)).body.runners.map(
          (r: { runnerId: string }) => r.runnerId,
        ),
      (ids: string[]) => !ids.includes("r-listed"),
      6_000,
    );
  });
});
