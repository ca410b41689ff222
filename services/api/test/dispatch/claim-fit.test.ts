// What a claim is told: the runner's labels (a task or its repo may require some) and its free
// slots (a batch claim takes up to that many runs in one round trip, within each repo's limit).
import { eventually } from "../helpers/eventually";
import { useDispatchWorld } from "./fixtures";
import { ScriptedRunner } from "./protocol";

const world = useDispatchWorld({ OPTIO_LEASE_MS: 120_000, OPTIO_RUNNER_STALE_MS: 3_000 });
const { createTask, taskState, drainQueue, queueBacklog } = world.fixtures;

const detail = async (id: string) =>
  (await world.ctx.http.get(`/api/tasks/${id}`).set(world.auth).expect(200)).body as {
    task: { requiredLabels: string[] };
    pendingReason: string | null;
  };

describe("labels", () => {
  it("hands a task requiring labels only to a runner that has them all", async () => {
    const plain = new ScriptedRunner(world.ctx.nats, "r-plain");
    const gpu = new ScriptedRunner(world.ctx.nats, "r-gpu", undefined, ["gpu"]);
    const gpuEu = new ScriptedRunner(world.ctx.nats, "r-gpu-eu", undefined, ["region=eu", "gpu", "ssd"]);
    await drainQueue(plain);
    const task = await createTask({ requiredLabels: ["gpu", "region=eu", "gpu"] });
    expect((await detail(task.id)).task.requiredLabels).toEqual(["gpu", "region=eu"]);
    expect(await plain.claim()).toBeNull();
    expect(await gpu.claim()).toBeNull();
    expect(await taskState(task.id)).toBe("queued");
    expect((await gpuEu.claim())!.taskId).toBe(task.id);
    // A task without requirements goes to any runner, labelled or not.
    const any = await createTask();
    expect((await gpu.claim())!.taskId).toBe(any.id);
  });

  it("applies the repo's required labels to its tasks, even behind a queue head of them", async () => {
    const plain = new ScriptedRunner(world.ctx.nats, "r-plain-2");
    const gpu = new ScriptedRunner(world.ctx.nats, "r-gpu-2", undefined, ["gpu"]);
    await drainQueue(plain);
    const repoUrl = "https://example.com/acme/gpu-only";
    await world.ctx.http
      .post("/api/repos")
      .set(world.auth)
      .send({ repoUrl, requiredLabels: ["gpu"], maxConcurrentTasks: 100 })
      .expect(201);
    await queueBacklog(repoUrl, 250);
    const other = await createTask({ priority: 900 });
    expect((await plain.claim())!.taskId).toBe(other.id);
    expect(await plain.claim()).toBeNull();
    const spec = (await gpu.claim())!;
    expect(spec.repoUrl).toBe(repoUrl);
  });

  it("says in pendingReason when no live runner has the labels, and stops saying it once one does", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-fpga", undefined, ["fpga"]);
    await drainQueue(runner);
    const task = await createTask({ requiredLabels: ["fpga"] });
    expect((await detail(task.id)).pendingReason).toBe(
      "No live runner has the labels this task requires (fpga) for agent type shell",
    );
    await runner.heartbeat([]);
    await eventually(
      "the runner is live",
      async () => (await detail(task.id)).pendingReason,
      (reason) => reason === "Waiting for a runner",
    );
  });

  it("rejects required labels with spaces or commas, naming the field", async () => {
    const res = await world.ctx.http
      .post("/api/tasks")
      .set(world.auth)
      .send({ prompt: "x", repoUrl: "https://example.com/acme/x", requiredLabels: ["a,b"] })
      .expect(400);
    expect(JSON.stringify(res.body.details)).toContain("requiredLabels");
  });
});

describe("batches", () => {
  it("claims up to freeSlots runs in one round trip, in queue order, within repo limits", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-batch");
    await drainQueue(runner);
    const repoUrl = "https://example.com/acme/batch-limited";
    await world.ctx.http
      .post("/api/repos")
      .set(world.auth)
      .send({ repoUrl, maxConcurrentTasks: 2 })
      .expect(201);
    const limited = [];
    for (let i = 0; i < 3; i++) limited.push(await createTask({ repoUrl, priority: 1 }));
    const others = [await createTask({ priority: 2 }), await createTask({ priority: 3 })];

    const runs = await runner.claimBatch(3);
    expect(runs.map((run) => run.taskId)).toEqual([limited[0]!.id, limited[1]!.id, others[0]!.id]);
    for (const run of runs) expect(await taskState(run.taskId)).toBe("provisioning");
    expect(await world.ctx.prisma.run.count({ where: { runnerId: "r-batch", state: "provisioning" } })).toBe(
      3,
    );
    // The repo is full: the next batch skips its third task.
    expect((await runner.claimBatch(5)).map((run) => run.taskId)).toEqual([others[1]!.id]);
    expect(await taskState(limited[2]!.id)).toBe("queued");
  });

  it("gives a runner that does not read batches one run, and a repeated batch claim the same runs", async () => {
    const runner = new ScriptedRunner(world.ctx.nats, "r-batch-2");
    await drainQueue(runner);
    for (let i = 0; i < 4; i++) await createTask();
    expect(await runner.claim(undefined, 4)).not.toBeNull();
    expect(await world.ctx.prisma.run.count({ where: { runnerId: "r-batch-2" } })).toBe(1);
    const claimId = "6b1d3c1e-6f5a-4f7e-9d1c-2a3b4c5d6e7f";
    const batch = await runner.claimBatch(2, claimId);
    expect(batch).toHaveLength(2);
    expect(await runner.claimBatch(2, claimId)).toEqual(batch);
    expect(await world.ctx.prisma.run.count({ where: { runnerId: "r-batch-2" } })).toBe(3);
    const history = await world.ctx.prisma.taskEvent.findMany({
      where: { taskId: batch[0]!.taskId, trigger: "claimed" },
    });
    expect(history).toMatchObject([
      { fromState: "queued", toState: "provisioning", actor: "runner:r-batch-2", runId: batch[0]!.runId },
    ]);
  });
});
