// A runner's Docker engine restarted mid-run, with real parts: a real runner process whose engine
// is reached through a proxy (support/docker-proxy.ts) that plays the restart on the shared engine:
// the run's container is killed (what a restart without live-restore does), every connection the
// runner had open to the engine is cut and new ones are refused for a few seconds. The run must end
// with a recorded infrastructure reason and the task be retried; nothing may stay running.
import { execFileSync } from "node:child_process";
import { startDockerProxy, type DockerProxy } from "../support/docker-proxy";
import { containersLabelled, eventually, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(240_000);

const RUNNER = "engine-restart";
/** Codes that say "the infrastructure failed", as opposed to the agent or the user. */
const INFRASTRUCTURE = ["CONTAINER_FAILED", "RUNNER_SHUTDOWN", "LEASE_EXPIRED"];

let stack: E2eStack;
let proxy: DockerProxy;
beforeAll(async () => {
  stack = await startE2eStack({ config: { OPTIO_LEASE_MS: 10_000 } });
  proxy = await startDockerProxy();
  await stack.startRunner(RUNNER, { DOCKER_HOST: proxy.host });
}, 15 * 60_000);
afterAll(async () => {
  await stack.close();
  await proxy.close();
  for (const id of containersLabelled(`optio.runner=${RUNNER}`)) execFileSync("docker", ["rm", "-f", id]);
});

it("the run ends with an infrastructure reason, the task is retried to completion, nothing stays running", async () => {
  stack.git.createRepo("engine");
  const res = await stack.ctx.http
    .post("/api/tasks")
    .set({ authorization: `Bearer ${stack.token}` })
    .send({
      title: "Engine restart",
      repoUrl: stack.git.url("engine"),
      agentType: "shell",
      prompt: "sleep 8; echo done > done.txt",
      maxAttempts: 3,
    })
    .expect(201);
  const id = res.body.task.id as string;
  const [container] = await eventually(
    "the run's container running",
    () => containersLabelled(`optio.task=${id}`),
    (ids) => ids.length === 1,
    60_000,
  );
  await eventually(
    "task running",
    () => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } }),
    (task) => task.state === "running",
    30_000,
  );

  proxy.down();
  execFileSync("docker", ["kill", container!]);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  proxy.back();

  const task = await eventually(
    "task ended",
    () => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id }, include: { runs: true } }),
    (t) => ["completed", "failed", "needs_attention", "cancelled"].includes(t.state),
    150_000,
  );
  const runs = task.runs.sort((a, b) => a.attempt - b.attempt);
  expect(runs[0]!.state).not.toBe("succeeded");
  expect(INFRASTRUCTURE).toContain(runs[0]!.errorCode);
  expect(task.state).toBe("completed");
  expect(runs.at(-1)!.state).toBe("succeeded");
  expect(
    await stack.ctx.prisma.run.count({ where: { taskId: id, state: { in: ["provisioning", "running"] } } }),
  ).toBe(0);
  await eventually(
    "no container left",
    () => containersLabelled(`optio.task=${id}`),
    (ids) => ids.length === 0,
    30_000,
  );
});
