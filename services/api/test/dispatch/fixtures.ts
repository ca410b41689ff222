// Task fixtures shared by the dispatch protocol tests (methods are bound: destructure them).
import type { TestContext } from "../helpers/test-context";
import type { ScriptedRunner } from "./protocol";

export class DispatchFixtures {
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
}
