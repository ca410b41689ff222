// Two API replicas and two runners on one stack (Postgres, NATS JetStream, Docker): replica A in
// this process, replica B a real API process (src/main.ts). A burst of tasks enters through both;
// B is killed with SIGKILL mid-burst. Every accepted task runs exactly once and none is lost.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "../helpers/private-nats";
import { eventually, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, "../../../..");
const TASKS = 16;
let stack: E2eStack;
let replicaB: ChildProcess;
let urlB: string;

async function startApiProcess(): Promise<void> {
  const port = await freePort();
  urlB = `http://127.0.0.1:${port}`;
  replicaB = spawn(process.execPath, ["--import", "tsx", "services/api/src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: stack.ctx.databaseUrl,
      NATS_URL: stack.nats.url,
      NATS_PASSWORD: stack.nats.api.pass, // the user defaults to the API's (optio-api)
      OPTIO_API_PORT: String(port),
      OPTIO_ALLOWED_REPO_HOSTS: "127.0.0.1",
      OPTIO_DEFAULT_IMAGE: stack.image,
      OPTIO_LEASE_MS: "10000",
      OPTIO_REAP_INTERVAL_MS: "250",
      OPTIO_LOG_LEVEL: process.env.OPTIO_TEST_LOG ?? "warn",
      // The same key as the in-process replica (npm test's), so both read the stored secrets.
      OPTIO_SECRET_KEY: process.env.OPTIO_SECRET_KEY ?? "",
      OPTIO_METRICS_PORT: "0",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  process.once("exit", () => replicaB.kill("SIGKILL"));
  await eventually(
    "replica B healthy",
    () =>
      fetch(`${urlB}/api/health`).then(
        (r) => r.ok,
        () => false,
      ),
    (ok) => ok,
    60_000,
  );
}

beforeAll(async () => {
  stack = await startE2eStack({ config: { OPTIO_LEASE_MS: 10_000 } });
  await startApiProcess();
  // One after the other: two tsx start-ups at once are slow on a loaded machine.
  await stack.startRunner("scale-a");
  await stack.startRunner("scale-b");
}, 15 * 60_000);
afterAll(async () => {
  replicaB?.kill("SIGKILL");
  await stack.close();
});

const ended = (state: string) => ["completed", "failed", "needs_attention", "cancelled"].includes(state);

async function createThrough(replica: "A" | "B", i: number): Promise<string> {
  const name = `scale${i}`;
  stack.git.createRepo(name);
  const body = {
    title: `Scale ${i}`,
    repoUrl: stack.git.url(name),
    agentType: "shell",
    prompt: `echo ${i} > n.txt`,
  };
  if (replica === "A") {
    const res = await stack.ctx.http
      .post("/api/tasks")
      .set({ authorization: `Bearer ${stack.token}` })
      .send(body)
      .expect(201);
    return res.body.task.id as string;
  }
  const res = await fetch(`${urlB}/api/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${stack.token}` },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { task: { id: string } }).task.id;
}

it("a burst through two API replicas is claimed exactly once; killing one mid-burst loses nothing", async () => {
  const ids: string[] = [];
  for (let i = 0; i < TASKS / 2; i++) ids.push(await createThrough(i % 2 ? "B" : "A", i));
  // Mid-burst: some runs claimed, others queued. Replica B dies without any chance to clean up.
  await eventually(
    "first claims",
    () => stack.ctx.prisma.run.count({ where: { taskId: { in: ids } } }),
    (n) => n >= 2,
    60_000,
  );
  replicaB.kill("SIGKILL");
  for (let i = TASKS / 2; i < TASKS; i++) ids.push(await createThrough("A", i));

  const prisma = stack.ctx.prisma;
  await eventually(
    "every task finished",
    () => prisma.task.findMany({ where: { id: { in: ids } } }),
    (tasks) => tasks.length === TASKS && tasks.every((t) => ended(t.state)),
    180_000,
  );
  const tasks = await prisma.task.findMany({ where: { id: { in: ids } }, include: { runs: true } });
  expect(tasks.map((t) => t.state)).toEqual(tasks.map(() => "completed"));
  // Exactly one run per task reached a container, and it succeeded.
  const started = tasks.map((t) => t.runs.filter((r) => r.startedAt !== null));
  expect(started.map((runs) => runs.length)).toEqual(tasks.map(() => 1));
  expect(started.every((runs) => runs[0]!.state === "succeeded")).toBe(true);
  expect(new Set(started.map((runs) => runs[0]!.runnerId))).toEqual(new Set(["scale-a", "scale-b"]));
  // Every pushed branch holds its task's change.
  for (const t of tasks) {
    const i = Number(t.title.split(" ")[1]);
    expect(stack.git.git(`scale${i}`, ["show", `${t.branchName}:n.txt`]).trim()).toBe(String(i));
  }
});
