// The warm pool with real parts: API, a runner process keeping one warm container, Docker, git.
import { execFileSync } from "node:child_process";
import { containersLabelled, eventually, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(120_000);

const RUNNER = "e2e-warm";
let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack();
  await stack.startRunner(RUNNER, { OPTIO_RUNNER_WARM_POOL: "1" });
}, 15 * 60_000);
afterAll(async () => {
  await stack.close();
  for (const id of containersLabelled(`optio.runner=${RUNNER}`)) execFileSync("docker", ["rm", "-f", id]);
});

const auth = () => ({ authorization: `Bearer ${stack.token}` });
let repoCount = 0;

async function createTask(prompt: string) {
  const name = `warm${++repoCount}`;
  stack.git.createRepo(name);
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set(auth())
    .send({ title: `Warm ${name}`, repoUrl: stack.git.url(name), agentType: "shell", prompt })
    .expect(201);
  return { id: res.body.task.id as string, repo: name };
}

const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const pool = async () =>
  (
    (await stack.ctx.http.get("/api/runners").set(auth()).expect(200)).body.runners as {
      runnerId: string;
      pool?: unknown;
    }[]
  ).find((runner) => runner.runnerId === RUNNER)?.pool;
const poolReady = () =>
  eventually("pool ready", pool, (p) => (p as { ready: number } | undefined)?.ready === 1, 60_000);

it("runs a task in the warm container, removes it, refills, and shows the pool in GET /api/runners", async () => {
  await poolReady();
  const [warm] = containersLabelled(`optio.runner=${RUNNER}`);
  const task = await createTask("echo warm > warm.txt");
  const done = await eventually(
    "completed",
    () => taskOf(task.id),
    (t) => t.state === "pr_opened" || t.state === "completed" || t.state === "needs_attention",
    60_000,
  );
  expect(stack.git.git(task.repo, ["show", `${done.branchName}:warm.txt`]).trim()).toBe("warm");
  const run = await stack.ctx.prisma.run.findFirstOrThrow({ where: { taskId: task.id } });
  expect(warm!.startsWith(run.containerId!.slice(0, 12))).toBe(true);
  await eventually(
    "used container removed",
    () => containersLabelled(`optio.runner=${RUNNER}`),
    (ids) => !ids.includes(warm!),
  );
  await eventually(
    "refilled and counted",
    pool,
    (p) => JSON.stringify(p) === JSON.stringify({ size: 1, ready: 1, used: 1 }),
    60_000,
  );
});

it("a cancel landing while the warm container is being assigned leaves a cancelled task and no container of it", async () => {
  await poolReady();
  const [warm] = containersLabelled(`optio.runner=${RUNNER}`);
  const task = await createTask("sleep 30; echo late > late.txt");
  const claimed = await eventually(
    "claimed",
    () => taskOf(task.id),
    (t) => t.state !== "queued",
    30_000,
  );
  const cancel = await stack.ctx.http.post(`/api/tasks/${task.id}/cancel`).set(auth());
  expect({ claimedAs: claimed.state, status: cancel.status, body: cancel.body }).toMatchObject({
    status: 200,
  });
  await eventually(
    "assigned container removed",
    () => containersLabelled(`optio.runner=${RUNNER}`),
    (ids) => !ids.includes(warm!),
    20_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect((await taskOf(task.id)).state).toBe("cancelled");
  const runs = await stack.ctx.prisma.run.findMany({ where: { taskId: task.id } });
  expect(runs.map((run) => run.state)).toEqual(["cancelled"]);
  expect(stack.git.git(task.repo, ["branch", "--list", "optio/*"])).toBe("");
  await poolReady();
});
