// A cancel must win its race with the dispatcher: with real runner processes and Docker, a cancel
// sent at any moment of a claim, a bulk cancel while two runners claim at full speed, and cancels
// that land between a run's milestones all leave the task cancelled and no container running.
import { containersLabelled, eventually, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(300_000);

const ACTIVE = ["queued", "waiting_on_deps", "provisioning", "running"];
const GRACE_MS = 2_000; // the runners' OPTIO_RUNNER_STOP_GRACE_MS in the e2e stack

let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack();
  await stack.startRunner("race-a", { OPTIO_RUNNER_SLOTS: "4" });
}, 15 * 60_000);
afterAll(() => stack.close());

const auth = () => ({ authorization: `Bearer ${stack.token}` });
let repoCount = 0;
function newRepo(): string {
  const name = `race${++repoCount}`;
  stack.git.createRepo(name);
  return stack.git.url(name);
}

async function createTask(repoUrl: string, prompt: string): Promise<string> {
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({ title: "race", prompt, repoUrl, agentType: "shell" })
    .expect(201);
  return res.body.task.id as string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** No task left active, every run closed and none succeeded, each history ending in `cancelled`. */
async function expectAllCancelled(ids: string[]) {
  const tasks = await stack.ctx.prisma.task.findMany({
    where: { id: { in: ids } },
    include: { runs: true, events: { orderBy: { seq: "asc" } } },
  });
  expect(tasks).toHaveLength(ids.length);
  expect(tasks.filter((t) => t.state !== "cancelled").map((t) => [t.id, t.state])).toEqual([]);
  const runs = tasks.flatMap((t) => t.runs);
  expect(runs.filter((r) => r.state !== "cancelled").map((r) => [r.id, r.state])).toEqual([]);
  expect(tasks.filter((t) => t.events.at(-1)?.toState !== "cancelled").map((t) => t.id)).toEqual([]);
}

async function expectNoContainers(runnerIds: string[], withinMs: number) {
  for (const id of runnerIds) {
    await eventually(
      `containers of ${id} removed`,
      () => containersLabelled(`optio.runner=${id}`),
      (left) => left.length === 0,
      withinMs,
    );
  }
}

it("a cancel sent at a random moment of the claim window always wins (200 rounds)", async () => {
  const began = Date.now();
  const repoUrl = newRepo();
  const ids: string[] = [];
  const seen = new Set<string>();
  for (let round = 0; round < 200; round++) {
    const id = await createTask(repoUrl, "sleep 30");
    ids.push(id);
    // Spread the cancels over the whole window: still queued, being claimed, claimed but not yet
    // started, container starting.
    await sleep(Math.floor(Math.random() * 400));
    const state = (await stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } })).state;
    seen.add(state);
    const res = await stack.ctx.http.post(`/api/tasks/${id}/cancel`).set(auth());
    expect([res.status, res.body.task?.state]).toEqual([200, "cancelled"]);
  }
  console.log(`200 cancel rounds in ${Date.now() - began} ms; states seen: ${[...seen].join(", ")}`);
  // The rounds did hit the race: some cancels found the task already claimed.
  expect([...seen].some((state) => state === "provisioning" || state === "running")).toBe(true);
  await expectNoContainers(["race-a"], GRACE_MS + 15_000);
  await sleep(1_000); // late reports (exits) have arrived and been applied
  await expectAllCancelled(ids);
}, 900_000);

it("bulk/cancel-active while two runners claim at full speed leaves nothing active or running", async () => {
  await stack.startRunner("race-b", { OPTIO_RUNNER_SLOTS: "4" });
  const repos = Array.from({ length: 10 }, () => newRepo());
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) ids.push(await createTask(repos[i % repos.length]!, "sleep 30"));
  await eventually(
    "both runners busy",
    () => stack.ctx.prisma.run.findMany({ where: { state: { in: ["provisioning", "running"] } } }),
    (runs) => new Set(runs.map((r) => r.runnerId)).size === 2,
    60_000,
  );
  const res = await stack.ctx.http.post("/api/tasks/bulk/cancel-active").set(auth()).expect(200);
  expect(res.body).toMatchObject({ affected: 50, total: 50 });
  const left = await stack.ctx.prisma.task.count({ where: { state: { in: ACTIVE as never[] } } });
  expect(left).toBe(0);
  await expectNoContainers(["race-a", "race-b"], GRACE_MS + 20_000);
  await sleep(1_000);
  await expectAllCancelled(ids);
});

it("a cancel between run_started and the agent's first line stops the run before it prints", async () => {
  // A minute before its line: seeing `running` can lag the agent's start by seconds on a loaded
  // machine (reports wait their turn in the stream), and a cancel that did not stop the run still
  // shows, as a container left running.
  const id = await createTask(newRepo(), "sleep 60; echo late-line");
  await eventually(
    "running",
    () => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } }),
    (t) => t.state === "running",
    60_000,
  );
  await stack.ctx.http.post(`/api/tasks/${id}/cancel`).set(auth()).expect(200);
  await eventually(
    "container removed",
    () => containersLabelled(`optio.task=${id}`),
    (left) => left.length === 0,
    GRACE_MS + 10_000,
  );
  await sleep(1_000); // the run's last reports have been applied
  await expectAllCancelled([id]);
  const logs = await stack.ctx.prisma.taskLog.findMany({ where: { taskId: id } });
  expect(logs.some((line) => line.stream === "stdout" && line.content.trim() === "late-line")).toBe(false);
});

it("a cancel between the run's result and its application: the result is recorded, the task stays cancelled", async () => {
  // The sleep keeps the result from being applied before the dispatch server stops below.
  const id = await createTask(newRepo(), "sleep 5; echo done > done.txt");
  await eventually(
    "running",
    () => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } }),
    (t) => t.state === "running",
    60_000,
  );
  // Reports now wait in JetStream: the run finishes, its result not yet applied.
  await stack.ctx.dispatch.server.stop();
  await eventually(
    "run finished",
    () => containersLabelled(`optio.task=${id}`),
    (left) => left.length === 0,
    60_000,
  );
  await stack.ctx.http.post(`/api/tasks/${id}/cancel`).set(auth()).expect(200);
  await stack.ctx.dispatch.server.start();
  const run = await eventually(
    "result applied",
    () => stack.ctx.prisma.run.findFirstOrThrow({ where: { taskId: id } }),
    (r) => r.exitCode !== null,
    30_000,
  );
  expect(run).toMatchObject({ state: "cancelled", exitCode: 0 });
  expect(run.branch).toMatch(/^optio\//);
  await sleep(500);
  await expectAllCancelled([id]);
});
