// Data factories for the task tests: tasks created through the API, and a way to put a task in any
// state (as a runner or the PR watcher would) through the real transition function.
import type { TaskState } from "@optio/core";
import { SYSTEM, type Work } from "../../src/tasks/task-machine";
import type { TestContext } from "../helpers/test-context";

export const REPO_URL = "https://github.com/acme/webapp";

export type Api = {
  ctx: TestContext;
  token: string;
  auth: (req: import("supertest").Test) => import("supertest").Test;
};

export async function apiFor(ctx: TestContext): Promise<Api> {
  const token = await ctx.adminToken();
  return { ctx, token, auth: (req) => req.set("authorization", `Bearer ${token}`) };
}

let counter = 0;
export function taskBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return { title: `Task ${counter}`, prompt: `Do thing ${counter}`, repoUrl: REPO_URL, ...overrides };
}

export async function createTask(api: Api, overrides: Record<string, unknown> = {}) {
  const res = await api.auth(api.ctx.http.post("/api/tasks")).send(taskBody(overrides));
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.task as { id: string; state: TaskState; [key: string]: unknown };
}

/** A path through the table from `queued` to each state, as the system would walk it. */
const PATHS: Record<TaskState, TaskState[]> = {
  pending: [],
  waiting_on_deps: [],
  queued: [],
  provisioning: ["provisioning"],
  running: ["provisioning", "running"],
  needs_attention: ["provisioning", "running", "needs_attention"],
  pr_opened: ["provisioning", "running", "pr_opened"],
  completed: ["provisioning", "running", "completed"],
  failed: ["provisioning", "running", "failed"],
  cancelled: ["cancelled"],
};

const RUN_STATE_ON: Partial<Record<TaskState, "provisioning" | "running" | "succeeded">> = {
  provisioning: "provisioning",
  running: "running",
  needs_attention: "succeeded",
  pr_opened: "succeeded",
};

/** Moves a queued task to `state` through TaskMachine.transition (system actor). */
export async function driveTo(ctx: TestContext, taskId: string, state: TaskState): Promise<void> {
  const { machine, work } = ctx.services.tasks;
  for (const to of PATHS[state]) {
    await work.run((w: Work) => machine.transition(w, { taskId, to, trigger: `test_${to}`, actor: SYSTEM }));
    // What the claim, the runner's reports and its result do to the run.
    const runState = RUN_STATE_ON[to];
    if (runState) {
      const run = await ctx.prisma.run.findFirstOrThrow({ where: { taskId }, orderBy: { attempt: "desc" } });
      await ctx.prisma.run.update({
        where: { id: run.id },
        data: { state: runState, runnerId: "test-runner" },
      });
    }
  }
}

/** A task in any state: created queued, then driven (pending/waiting_on_deps set directly). */
export async function taskIn(api: Api, state: TaskState, overrides: Record<string, unknown> = {}) {
  if (state === "waiting_on_deps") {
    const dep = await createTask(api);
    return { ...(await createTask(api, { ...overrides, dependsOn: [dep.id] })), dependencyId: dep.id };
  }
  const task = await createTask(api, overrides);
  if (state === "pending") {
    // Only held pipeline steps are pending; a fixture may put any task there.
    await api.ctx.prisma.task.update({ where: { id: task.id }, data: { state: "pending" } });
  } else {
    await driveTo(api.ctx, task.id, state);
  }
  return { ...task, dependencyId: null as string | null };
}

export async function stateOf(ctx: TestContext, taskId: string): Promise<TaskState> {
  return (await ctx.prisma.task.findUniqueOrThrow({ where: { id: taskId } })).state;
}
