// Budgets on the API side, against real Postgres and NATS with a scripted runner: caps on tasks and
// repo defaults (validated, returned, sent in the run spec), a run stopped at a cap (BUDGET_EXCEEDED)
// going to needs_attention with what it spent, and spend per run, task, repository and day in the
// API and in /metrics.
import Ajv from "ajv";
import { ApiMetrics } from "../../src/metrics/api-metrics";
import { eventually } from "../helpers/eventually";
import { rowCounts } from "../helpers/row-counts";
import { useDispatchWorld } from "../dispatch/fixtures";
import { ScriptedRunner, exited, resultOk, started } from "../dispatch/protocol";

const world = useDispatchWorld({ OPTIO_LEASE_MS: 120_000 });
const { createTask, taskState, drainQueue } = world.fixtures;
const today = () => new Date().toISOString().slice(0, 10);

/**
 * An OpenAPI 3.0 schema in the JSON Schema dialect ajv reads: 3.0 keeps draft 4's boolean
 * `exclusiveMinimum`/`exclusiveMaximum` beside `minimum`/`maximum` (ajv 8 reads `nullable` itself).
 */
function draft7(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(draft7);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, draft7(value)]),
  );
  for (const [exclusive, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof out[exclusive] !== "boolean") continue;
    if (out[exclusive]) out[exclusive] = out[bound];
    else delete out[exclusive];
    if (out[exclusive] !== undefined) delete out[bound];
  }
  return out;
}

const budgetResult = (costUsd: number, message: string) =>
  ({
    ...resultOk,
    exitCode: 143,
    pushed: false,
    commits: 0,
    costUsd,
    inputTokens: 9000,
    outputTokens: 700,
    error: { code: "BUDGET_EXCEEDED", message },
  }) as const;
const budgetExit = (message: string) =>
  ({ ...exited, exitCode: 143, reason: "budget", error: { code: "BUDGET_EXCEEDED", message } }) as const;

describe("caps", () => {
  it.each([
    [{ maxCostUsd: 0 }, "body.maxCostUsd"],
    [{ maxCostUsd: -0.5 }, "body.maxCostUsd"],
    [{ maxCostUsd: "0.5" }, "body.maxCostUsd"],
    [{ maxCostUsd: 2_000_000 }, "body.maxCostUsd"],
    [{ maxTurns: 0 }, "body.maxTurns"],
    [{ maxTurns: 2.5 }, "body.maxTurns"],
    [{ maxTurns: null }, "body.maxTurns"],
  ])("refuses %j on POST /api/tasks with a 400 naming %s, writing nothing", async (caps, path) => {
    const before = await rowCounts(world.ctx.prisma);
    const res = await world.ctx.http
      .post("/api/tasks")
      .set(world.auth)
      .send({ prompt: "p", repoUrl: "https://example.com/acme/caps", ...caps });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await rowCounts(world.ctx.prisma)).toEqual(before);
  });

  it("refuses bad repo defaults with a 400 naming the field", async () => {
    const before = await rowCounts(world.ctx.prisma);
    for (const [body, path] of [
      [{ maxCostUsd: 0 }, "body.maxCostUsd"],
      [{ maxTurns: -3 }, "body.maxTurns"],
    ] as const) {
      const res = await world.ctx.http
        .post("/api/repos")
        .set(world.auth)
        .send({ repoUrl: "https://example.com/acme/bad-caps", ...body });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect(await rowCounts(world.ctx.prisma)).toEqual(before);
  });

  it("takes a task's caps, else its repo's defaults, returns them and sends them in the run spec", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-caps");
    await drainQueue(runner);
    const repoUrl = "https://example.com/acme/capped";
    const repo = await world.ctx.http
      .post("/api/repos")
      .set(world.auth)
      .send({ repoUrl, maxCostUsd: 2.5, maxTurns: 40 })
      .expect(201);
    expect(repo.body.repo).toMatchObject({ maxCostUsd: 2.5, maxTurns: 40 });

    const inherited = await createTask({ repoUrl });
    const own = await createTask({ repoUrl, maxCostUsd: 0.75, maxTurns: 12 });
    const none = await createTask(); // a repo that is not connected: no caps
    for (const [task, caps] of [
      [inherited, { maxCostUsd: 2.5, maxTurns: 40 }],
      [own, { maxCostUsd: 0.75, maxTurns: 12 }],
      [none, { maxCostUsd: null, maxTurns: null }],
    ] as const) {
      expect(task).toMatchObject(caps);
      const view = await world.ctx.http.get(`/api/tasks/${task.id}`).set(world.auth).expect(200);
      expect(view.body.task).toMatchObject({ ...caps, queueReason: null });
      expect(await world.ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } })).toMatchObject(caps);
    }

    // A later change of the repo's defaults does not move tasks already created; PATCH does.
    await world.ctx.http
      .patch(`/api/repos/${repo.body.repo.id}`)
      .set(world.auth)
      .send({ maxTurns: 5 })
      .expect(200);
    const patched = await world.ctx.http
      .patch(`/api/tasks/${inherited.id}`)
      .set(world.auth)
      .send({ maxCostUsd: null })
      .expect(200);
    expect(patched.body.task).toMatchObject({ maxCostUsd: null, maxTurns: 40 });

    const specs = await runner.claimBatch(4);
    const specOf = (id: string) => specs.find((spec) => spec.taskId === id);
    expect(specOf(inherited.id)).toMatchObject({ maxCostUsd: null, maxTurns: 40 });
    expect(specOf(own.id)).toMatchObject({ maxCostUsd: 0.75, maxTurns: 12 });
    expect(specOf(none.id)).toMatchObject({ maxCostUsd: null, maxTurns: null });
  });
});

describe("a run stopped at its cap", () => {
  it("sends the task to needs_attention with BUDGET_EXCEEDED, keeping what the run spent", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-stopped");
    await drainQueue(runner);
    const repoUrl = "https://example.com/acme/stopped";
    const task = await createTask({ repoUrl, maxCostUsd: 0.5 });
    const spec = (await runner.claim())!;
    const message = "cost $0.5213 crossed maxCostUsd $0.5000";
    await runner.report(spec, started);
    await runner.report(spec, budgetResult(0.5213, message));
    await runner.report(spec, budgetExit(message));
    await eventually(
      "needs_attention",
      () => taskState(task.id),
      (s) => s === "needs_attention",
    );

    const run = await world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } });
    expect(run).toMatchObject({
      state: "failed",
      errorCode: "BUDGET_EXCEEDED",
      inputTokens: 9000,
      outputTokens: 700,
    });
    expect(run.costUsd!.toString()).toBe("0.5213");
    expect(run.error).toBe(`BUDGET_EXCEEDED: ${message}`);
    const row = await world.ctx.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row).toMatchObject({
      errorMessage: `BUDGET_EXCEEDED: ${message}`,
      inputTokens: 9000n,
      outputTokens: 700n,
    });
    expect(row.costUsd.toString()).toBe("0.5213");
    const event = await world.ctx.prisma.taskEvent.findFirstOrThrow({
      where: { taskId: task.id, toState: "needs_attention" },
    });
    expect(event).toMatchObject({ trigger: "run_budget_exceeded", message: `BUDGET_EXCEEDED: ${message}` });

    // The task's view sums its runs; the run's shows its own.
    const view = await world.ctx.http.get(`/api/tasks/${task.id}`).set(world.auth).expect(200);
    expect(view.body.task).toMatchObject({ state: "needs_attention", costUsd: "0.5213", inputTokens: 9000 });
    expect(view.body.runs[0]).toMatchObject({ errorCode: "BUDGET_EXCEEDED", costUsd: "0.5213" });

    // Its caps may be raised while it waits (nothing else may change), and the resumed run gets
    // them; the task adds up both runs.
    await world.ctx.http.patch(`/api/tasks/${task.id}`).set(world.auth).send({ title: "x" }).expect(409);
    const raised = await world.ctx.http
      .patch(`/api/tasks/${task.id}`)
      .set(world.auth)
      .send({ maxCostUsd: 1.5 })
      .expect(200);
    expect(raised.body.task).toMatchObject({ state: "needs_attention", maxCostUsd: 1.5 });
    await world.ctx.http.post(`/api/tasks/${task.id}/resume`).set(world.auth).send({}).expect(200);
    const again = (await runner.claim())!;
    expect(again).toMatchObject({ taskId: task.id, attempt: 2, maxCostUsd: 1.5 });
    await runner.report(again, started);
    await runner.report(again, { ...resultOk, costUsd: 0.25, inputTokens: 100, outputTokens: 50 });
    await runner.report(again, exited);
    await eventually(
      "completed",
      () => taskState(task.id),
      (s) => s === "completed",
    );
    const done = await world.ctx.http.get(`/api/tasks/${task.id}`).set(world.auth).expect(200);
    expect(done.body.task).toMatchObject({ costUsd: "0.7713", inputTokens: 9100, outputTokens: 750 });
  });

  it("counts the spend of a run that was cancelled before its result came", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-late");
    await drainQueue(runner);
    const repoUrl = "https://example.com/acme/late";
    const task = await createTask({ repoUrl });
    const spec = (await runner.claim())!;
    await runner.report(spec, started);
    await eventually(
      "running",
      () => taskState(task.id),
      (s) => s === "running",
    );
    await world.ctx.http.post(`/api/tasks/${task.id}/cancel`).set(world.auth).send({}).expect(200);
    await runner.report(spec, { ...resultOk, pushed: false, costUsd: 0.1, inputTokens: 10, outputTokens: 1 });
    const spent = await eventually(
      "the late result counted",
      () => world.ctx.prisma.repoSpendDay.findMany({ where: { repoUrl } }),
      (rows) => rows.length === 1,
    );
    expect(spent[0]!.costUsd.toString()).toBe("0.1");
  });
});

describe("spend", () => {
  it("answers per day, repository and agent, and exports totals in /metrics", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-spend");
    await drainQueue(runner);
    const repoA = "https://example.com/acme/spend-a";
    const repoB = "https://example.com/acme/spend-b";
    const before = await world.ctx.http.get("/api/stats/spend?days=7").set(world.auth).expect(200);
    for (const [repoUrl, costUsd] of [
      [repoA, 1.25],
      [repoA, 0.5],
      [repoB, 0.125],
    ] as const) {
      const task = await createTask({ repoUrl });
      const spec = (await runner.claim())!;
      await runner.report(spec, started);
      await runner.report(spec, { ...resultOk, costUsd, inputTokens: 1000, outputTokens: 100 });
      await runner.report(spec, exited);
      await eventually(
        "completed",
        () => taskState(task.id),
        (s) => s === "completed",
      );
    }

    const res = await world.ctx.http.get("/api/stats/spend?days=7").set(world.auth).expect(200);
    const body = res.body;
    expect(body.to).toBe(today());
    const a = body.byRepo.find((r: { repoUrl: string }) => r.repoUrl === repoA);
    expect(a).toEqual({
      repoUrl: repoA,
      costUsd: "1.75",
      inputTokens: 2000,
      outputTokens: 200,
      runs: 2,
      days: [{ day: today(), costUsd: "1.75", inputTokens: 2000, outputTokens: 200, runs: 2 }],
    });
    expect(body.byRepo.find((r: { repoUrl: string }) => r.repoUrl === repoB)).toMatchObject({
      costUsd: "0.125",
    });
    const todayTotal = body.byDay.find((d: { day: string }) => d.day === today());
    const todayBefore = before.body.byDay.find((d: { day: string }) => d.day === today());
    expect(Number(todayTotal.costUsd) - Number(todayBefore?.costUsd ?? 0)).toBeCloseTo(1.875, 6);
    expect(todayTotal.runs - (todayBefore?.runs ?? 0)).toBe(3);
    expect({ ...body.total, day: today() }).toEqual(todayTotal); // every test here spent today
    expect(body.byAgent).toEqual([
      expect.objectContaining({ agentType: "shell", costUsd: body.total.costUsd }),
    ]);
    expect(body.budget).toMatchObject({ capUsd: null, source: "none", held: false, day: today() });
    // The daily row the claim reads agrees with the per-repo rows.
    const day = await world.ctx.prisma.spendDay.findUniqueOrThrow({ where: { day: new Date(today()) } });
    expect(day.costUsd.toString()).toBe(todayTotal.costUsd);

    await world.ctx.http.get("/api/stats/spend?days=0").set(world.auth).expect(400);
    await world.ctx.http.get("/api/stats/spend?days=367").set(world.auth).expect(400);

    const metrics = new ApiMetrics({ prisma: world.ctx.prisma, nats: world.ctx.nats });
    metrics.attachBudget(world.ctx.services.budget);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`optio_agent_cost_usd_total{repo="${repoA}",agent="shell"} 1.75`);
    expect(text).toContain(`optio_agent_cost_usd_total{repo="${repoB}",agent="shell"} 0.125`);
    expect(text).toContain(`optio_agent_tokens_total{repo="${repoA}",agent="shell",kind="input"} 2000`);
    expect(text).toMatch(new RegExp(`^optio_daily_spend_usd ${Number(todayTotal.costUsd)}$`, "m"));
    expect(text).toMatch(/^optio_daily_budget_usd 0$/m);
  });

  it("documents the new routes and fields in the OpenAPI document, whose schemas accept real answers", async () => {
    type Content = { content?: { "application/json"?: { schema: object } } };
    const doc = (await world.ctx.http.get("/api/openapi.json").expect(200)).body as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, Content>; requestBody?: Content }>>;
    };
    expect(doc.openapi).toBe("3.0.3");
    // Every schema of the document compiles, and the new routes' answers match their own.
    const ajv = new Ajv({ strict: false, validateFormats: false });
    const schemaOf = (path: string, method: string) =>
      draft7(doc.paths[path]![method]!.responses["200"]!.content!["application/json"]!.schema) as object;
    const broken: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const part of [...Object.values(op.responses ?? {}), op.requestBody]) {
          const schema = part?.content?.["application/json"]?.schema;
          if (!schema) continue;
          try {
            ajv.compile(draft7(schema) as object);
          } catch (error) {
            broken.push(`${method} ${path}: ${(error as Error).message}`);
          }
        }
    expect(broken).toEqual([]);
    const spend = await world.ctx.http.get("/api/stats/spend").set(world.auth).expect(200);
    expect(ajv.validate(schemaOf("/api/stats/spend", "get"), spend.body)).toBe(true);
    const budget = await world.ctx.http.get("/api/settings/budget").set(world.auth).expect(200);
    expect(ajv.validate(schemaOf("/api/settings/budget", "get"), budget.body)).toBe(true);
    const tasks = await world.ctx.http.get("/api/tasks").set(world.auth).expect(200);
    expect(ajv.validate(schemaOf("/api/tasks", "get"), tasks.body)).toBe(true);
    expect(Object.keys(doc.paths["/api/stats/spend"]!)).toEqual(["get"]);
    expect(Object.keys(doc.paths["/api/settings/budget"]!).sort()).toEqual(["delete", "get", "put"]);
    const task = JSON.stringify(doc.paths["/api/tasks/{id}"]!.get!.responses["200"]);
    for (const field of ["maxCostUsd", "maxTurns", "queueReason"]) expect(task).toContain(`"${field}"`);
    const create = JSON.stringify(doc.paths["/api/tasks"]!.post);
    expect(create).toContain('"maxCostUsd"');
  });
});
