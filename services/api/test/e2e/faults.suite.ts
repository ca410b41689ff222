// Faults with real parts: runners killed, the API and NATS restarted mid-run, many tasks across
// two runners. Nothing is lost and nothing runs twice. Run as it is (faults.test.ts) and with the
// warm pool and the repo cache on (faults.pool-cache.test.ts).
import { execFileSync } from "node:child_process";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { eventually, removeRunnerLeftovers, startE2eStack, type E2eStack, type RunnerProcess } from "./stack";

export interface FaultSuiteOptions {
  /**
   * Prefix of the suite's runner ids. Suites running at once on one engine need their own: a
   * starting runner removes every container labelled with its id that it does not own.
   */
  runnerPrefix: string;
  /** Settings of every runner the suite starts, by runner id. */
  runnerEnv?: (runnerId: string) => Record<string, string>;
  /** All tasks in one repository (so a warm pool made for a repository serves them), else one each. */
  sharedRepo?: boolean;
}

export function faultSuite(options: FaultSuiteOptions): void {
  const A = `${options.runnerPrefix}-a`;
  const B = `${options.runnerPrefix}-b`;
  jest.setTimeout(180_000);

  let stack: E2eStack;
  let runnerA: RunnerProcess;
  let runnerB: RunnerProcess;
  let api: TestContext;
  const startRunner = (id: string) => stack.startRunner(id, options.runnerEnv?.(id) ?? {});
  beforeAll(async () => {
    stack = await startE2eStack({ config: { OPTIO_LEASE_MS: 10_000 } });
    api = stack.ctx;
    runnerA = await startRunner(A);
    runnerB = await startRunner(B);
  }, 15 * 60_000);
  afterAll(async () => {
    if (api !== stack.ctx) await api.close();
    await stack.close();
    for (const runner of [A, B]) removeRunnerLeftovers(runner);
  });

  const auth = () => ({ authorization: `Bearer ${stack.token}` });
  let repoCount = 0;

  async function createTask(body: Record<string, unknown>) {
    const name = options.sharedRepo ? "fault-shared" : `fault${++repoCount}`;
    if (!options.sharedRepo || ++repoCount === 1) stack.git.createRepo(name);
    const res = await api.http
      .post("/api/tasks")
      .set(auth())
      .send({ title: `Fault ${name}`, repoUrl: stack.git.url(name), agentType: "shell", ...body })
      .expect(201);
    return res.body.task.id as string;
  }

  const taskOf = (id: string) => api.prisma.task.findUniqueOrThrow({ where: { id } });
  const ended = (state: string) => ["completed", "failed", "needs_attention", "cancelled"].includes(state);
  /** Whether a container still exists (warm-pool containers carry no task label: ask by id). */
  const containerExists = (id: string) =>
    execFileSync("docker", ["ps", "-aq", "--no-trunc", "--filter", `id=${id}`], {
      encoding: "utf8",
    }).trim() !== "";

  it("two runners x two slots, many short tasks: every task runs exactly once", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await createTask({ prompt: `echo run-${i} > out.txt` }));
    for (const id of ids)
      await eventually(
        `task ${id}`,
        () => taskOf(id),
        (t) => ended(t.state),
        120_000,
      );
    const tasks = await api.prisma.task.findMany({ where: { id: { in: ids } }, include: { runs: true } });
    expect(tasks.map((t) => t.state)).toEqual(ids.map(() => "completed"));
    // Exactly one run per task reached a container. (A claim whose reply a runner never received
    // leaves a run that never started; its lease expires and the task is claimed again.)
    const started = tasks.map((t) => t.runs.filter((r) => r.startedAt !== null));
    expect(started.map((runs) => runs.length)).toEqual(ids.map(() => 1));
    expect(started.every((runs) => runs[0]!.state === "succeeded")).toBe(true);
    const byRunner = new Set(started.map((runs) => runs[0]!.runnerId));
    expect(byRunner).toEqual(new Set([A, B]));
  });

  it("NATS restarted mid-run: runner and API reconnect and the run's reports all arrive", async () => {
    const id = await createTask({ agentType: "claude", prompt: "FAKE_SLEEP=4 then write" });
    await eventually(
      "running",
      () => taskOf(id),
      (t) => t.state === "running",
      60_000,
    );
    await stack.nats.restart(500);
    const done = await eventually(
      "completed",
      () => taskOf(id),
      (t) => ended(t.state),
      90_000,
    );
    expect(done.state).toBe("completed");
    const logs = await api.prisma.taskLog.findMany({ where: { taskId: id }, orderBy: { seq: "asc" } });
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i + 1)); // no gap
    expect(logs.some((l) => l.content.includes("fake-claude: working (4)"))).toBe(true);
  });

  it("API restarted mid-run: reports buffered in JetStream are applied when it is back", async () => {
    const id = await createTask({ agentType: "claude", prompt: "FAKE_SLEEP=3 then write" });
    await eventually(
      "running",
      () => taskOf(id),
      (t) => t.state === "running",
      60_000,
    );
    const databaseUrl = api.databaseUrl;
    await api.dispatch.server.stop(); // the API goes away: nobody consumes reports or answers runners
    await api.app.close();
    await new Promise((r) => setTimeout(r, 4_500)); // the run finishes meanwhile
    expect((await stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } })).state).toBe("running");

    api = await createTestContext({
      databaseUrl,
      nats: stack.nats.forApi,
      config: { OPTIO_DEFAULT_IMAGE: stack.image },
    });
    await api.dispatch.server.start();
    const done = await eventually(
      "completed",
      () => taskOf(id),
      (t) => ended(t.state),
      60_000,
    );
    expect(done).toMatchObject({ state: "completed", attempts: 1 });
  });

  it("kill -9 of a runner mid-run: the task completes on another runner, once; the restarted runner removes its orphan", async () => {
    await runnerB.stop(); // only A can claim
    const id = await createTask({ agentType: "claude", prompt: "FAKE_SLEEP=8 then write" });
    await eventually(
      "running on A",
      () => api.prisma.run.findFirst({ where: { taskId: id } }),
      (r) => r?.state === "running",
    );
    runnerA.child.kill("SIGKILL");
    const orphan = (await api.prisma.run.findFirstOrThrow({ where: { taskId: id, attempt: 1 } }))
      .containerId!;
    expect(containerExists(orphan)).toBe(true); // its container is orphaned
    runnerB = await startRunner(B);

    const done = await eventually(
      "completed elsewhere",
      () => taskOf(id),
      (t) => ended(t.state),
      120_000,
    );
    expect(done).toMatchObject({ state: "completed", attempts: 2 });
    const runs = await api.prisma.run.findMany({ where: { taskId: id }, orderBy: { attempt: "asc" } });
    expect(runs.map((r) => [r.attempt, r.runnerId, r.state, r.errorCode])).toEqual([
      [1, A, "superseded", "LEASE_EXPIRED"],
      [2, B, "succeeded", null],
    ]);

    runnerA = await startRunner(A);
    await eventually(
      "orphan removed",
      () => containerExists(orphan),
      (exists) => !exists,
      30_000,
    );
  });
}
