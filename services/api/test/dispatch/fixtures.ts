// The dispatch protocol tests' world: an API with dispatch on, on a NATS of its own (queue groups
// and the durable report consumer are not shared with other test files), and task fixtures.
import type { ApiConfig } from "../../src/config";
import { createTestContext, type TestContext, type TestContextOptions } from "../helpers/test-context";
import { startPrivateNats, type PrivateNats } from "../helpers/private-nats";
import type { RunSpec } from "@optio/contracts";
import { eventually } from "../helpers/eventually";
import { started, type ScriptedRunner } from "./protocol";

export type DispatchWorld = {
  readonly ctx: TestContext;
  /** The world's own NATS (with production's authorization; `addRunner` for a runner identity). */
  readonly nats: PrivateNats;
  readonly auth: { authorization: string };
  fixtures: DispatchFixtures;
};

/**
 * Registers beforeAll/afterAll hooks that start and stop the world; read it inside tests. `options`:
 * more of the test context's (an injected clock).
 */
export function useDispatchWorld(
  config: Partial<ApiConfig> = {},
  options: Pick<TestContextOptions, "clock"> = {},
): DispatchWorld {
  let nats: PrivateNats;
  let ctx: TestContext;
  let auth: { authorization: string };
  beforeAll(async () => {
    nats = await startPrivateNats();
    ctx = await createTestContext({ ...options, nats: nats.forApi, config });
    await ctx.dispatch.server.start();
    auth = { authorization: `Bearer ${await ctx.adminToken()}` };
  });
  afterAll(async () => {
    await ctx.close();
    await nats.stop();
  });
  return {
    get ctx() {
      return ctx;
    },
    get nats() {
      return nats;
    },
    get auth() {
      return auth;
    },
    fixtures: new DispatchFixtures(
      () => ctx,
      () => auth,
    ),
  };
}

/** Task fixtures (methods are bound: destructure them). */ export class DispatchFixtures {
  private counter = 0;

  constructor(
    private readonly ctx: () => TestContext,
    private readonly auth: () => { authorization: string },
  ) {}

  /** A shell task on a repository of its own (so repo concurrency limits do not interfere). */
  createTask = async (extra: Record<string, unknown> = {}) => {
    this.counter++;
    const res = await this.ctx()
      .http.post("/api/tasks")
      .set(this.auth())
      .send({
        title: `Task ${this.counter}`,
        prompt: "echo hi",
        repoUrl: `https://example.com/acme/r${this.counter}`,
        agentType: "shell",
        ...extra,
      })
      .expect(201);
    return res.body.task as { id: string; state: string };
  };

  /** A backlog of `count` queued top-priority shell tasks on one repo, in one statement. */
  queueBacklog = async (repoUrl: string, count: number) => {
    await this.ctx().prisma.$executeRaw`
      INSERT INTO tasks (id, title, prompt, repo_url, repo_branch, agent_type, state, priority, max_attempts, updated_at)
      SELECT gen_random_uuid(), 'backlog', 'p', ${repoUrl}, 'main', 'shell', 'queued', 0, 3, now()
        FROM generate_series(1, ${count}::int)`;
  };

  taskState = async (id: string): Promise<string> =>
    (await this.ctx().prisma.task.findUniqueOrThrow({ where: { id } })).state;

  /** Sets aside work left by earlier tests (queued tasks, open runs) so each test sees only its own. */
  drainQueue = async (runner: ScriptedRunner) => {
    const { prisma } = this.ctx();
    await prisma.run.updateMany({
      where: { state: { in: ["queued", "provisioning", "running"] } },
      data: { state: "cancelled" },
    });
    await prisma.task.updateMany({
      where: { state: { in: ["queued", "provisioning", "running"] } },
      data: { state: "cancelled" },
    });
    expect(await runner.claim()).toBeNull();
  };

  /** A task of its own claimed by `runner`, reported started, and seen `running` by the API. */
  startRun = async (runner: ScriptedRunner, extra: Record<string, unknown> = {}) => {
    const task = await this.createTask(extra);
    const spec = (await runner.claim()) as RunSpec;
    expect(spec.taskId).toBe(task.id);
    await runner.report(spec, started);
    await eventually(
      "running",
      () => this.taskState(task.id),
      (state) => state === "running",
    );
    return { task, spec };
  };
}
