// Reads: the task list with its filters and total, one task with its runs, why it is not running
// (pendingReason) and its subtask progress, and its transition history.
import type { ListTasksQuery } from "@optio/contracts";
import {
  pipelineProgress,
  stepsInOrder,
  subtaskStatus,
  type PipelineProgress,
  type SubtaskStatus,
} from "@optio/core";
import type { PrismaClient } from "../db/prisma";
import { Prisma } from "../generated/prisma/client";
import type { Run, Task as TaskRow } from "../generated/prisma/client";
import { normaliseRepoUrl } from "../repos/repo-url";
import { SUBTASK_VIEW, taskNotFound } from "./task-machine";
import { taskAndRunSelect, toTaskWithRun } from "./task-rows";
import { LATEST_RUN } from "./task.view";
import { heldReason, type DailyBudget } from "../budgets/daily-budget";

/** A connected repo's concurrency limit applies; an unconnected repo gets the repo default. */
const DEFAULT_REPO_CONCURRENCY = 2;
const DEFAULT_RUNNER_STALE_MS = 20_000;

export type TaskDetail = {
  task: TaskRow & { runs: Run[] };
  runs: Run[];
  pendingReason: string | null;
  subtaskStatus: SubtaskStatus | null;
  pipelineProgress: PipelineProgress | null;
};

function startOf(bound: string, end: boolean): Date {
  // A bare date covers the whole day: createdBefore=2026-01-31 includes that day.
  if (/^\d{4}-\d{2}-\d{2}$/.test(bound)) {
    return new Date(`${bound}T${end ? "23:59:59.999" : "00:00:00.000"}Z`);
  }
  return new Date(bound);
}

const ORDERS: Record<ListTasksQuery["sort"], (alias: string) => string> = {
  queue: (t) => `${t}priority ASC, ${t}position ASC, ${t}created_at ASC, ${t}id ASC`,
  created: (t) => `${t}created_at ASC, ${t}id ASC`,
  "-created": (t) => `${t}created_at DESC, ${t}id DESC`,
};

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function listWhere(query: ListTasksQuery): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (query.state) conditions.push(Prisma.sql`state = ANY(${query.state}::"TaskState"[])`);
  if (query.repoUrl) {
    conditions.push(Prisma.sql`repo_url = ${normaliseRepoUrl(query.repoUrl, "query.repoUrl").repoUrl}`);
  }
  if (query.repoId) conditions.push(Prisma.sql`repo_id = ${query.repoId}::uuid`);
  if (query.type) conditions.push(Prisma.sql`task_type = ${query.type}::"TaskType"`);
  if (query.agentType) conditions.push(Prisma.sql`agent_type = ${query.agentType}`);
  if (query.parentId) conditions.push(Prisma.sql`parent_id = ${query.parentId}::uuid`);
  if (query.createdAfter) conditions.push(Prisma.sql`created_at >= ${startOf(query.createdAfter, false)}`);
  if (query.createdBefore) conditions.push(Prisma.sql`created_at <= ${startOf(query.createdBefore, true)}`);
  if (query.q) {
    const pattern = `%${escapeLike(query.q)}%`;
    conditions.push(Prisma.sql`(title ILIKE ${pattern} OR prompt ILIKE ${pattern})`);
  }
  return conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty;
}

export class TaskQueries {
  private readonly prisma: PrismaClient;
  /** A runner unheard of for this long is not live (it cannot take a task). */
  private readonly runnerStaleMs: number;
  private readonly budget: Pick<DailyBudget, "status">;

  constructor(options: {
    prisma: PrismaClient;
    runnerStaleMs?: number;
    budget: Pick<DailyBudget, "status">;
  }) {
    this.prisma = options.prisma;
    this.runnerStaleMs = options.runnerStaleMs ?? DEFAULT_RUNNER_STALE_MS;
    this.budget = options.budget;
  }

  /**
   * One filter builder for the page and the total, in SQL: the total is a plain count the planner
   * answers with an index-only scan (Prisma's count wraps a sub-select of ids, which it cannot).
   */
  async list(query: ListTasksQuery): Promise<{ tasks: (TaskRow & { runs: Run[] })[]; total: number }> {
    const where = listWhere(query);
    const order = ORDERS[query.sort];
    const [page, counted] = await Promise.all([
      this.prisma.$queryRaw<Record<string, unknown>[]>`
        SELECT ${taskAndRunSelect("t", "r")}
          FROM (SELECT * FROM tasks ${where} ORDER BY ${Prisma.raw(order(""))} LIMIT ${query.limit} OFFSET ${query.offset}) t
          LEFT JOIN LATERAL (SELECT * FROM runs WHERE runs.task_id = t.id ORDER BY attempt DESC LIMIT 1) r ON true
         ORDER BY ${Prisma.raw(order("t."))}`,
      this.prisma.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM tasks ${where}`,
    ]);
    return { tasks: page.map(toTaskWithRun), total: counted[0]?.total ?? 0 };
  }

  async get(id: string): Promise<TaskRow & { runs: Run[] }> {
    const task = await this.prisma.task.findUnique({ where: { id }, include: LATEST_RUN });
    if (!task) throw taskNotFound();
    return task;
  }

  async detail(id: string): Promise<TaskDetail> {
    const task = await this.get(id);
    const [runs, subtasks] = await Promise.all([
      this.prisma.run.findMany({ where: { taskId: id }, orderBy: { attempt: "desc" } }),
      this.prisma.task.findMany({ where: { parentId: id }, select: SUBTASK_VIEW }),
    ]);
    return {
      task,
      runs,
      pendingReason: await this.pendingReason(task),
      subtaskStatus: subtasks.length > 0 ? subtaskStatus(subtasks) : null,
      pipelineProgress: pipelineProgress(subtasks),
    };
  }

  /** Why a task that has not started is not running yet; null otherwise. */
  async pendingReason(task: TaskRow): Promise<string | null> {
    if (task.state === "waiting_on_deps") {
      const deps = await this.prisma.taskDependency.findMany({
        where: { taskId: task.id, dependsOn: { state: { not: "completed" } } },
        select: { dependsOn: { select: { id: true, title: true, state: true } } },
        orderBy: { dependsOnId: "asc" },
      });
      if (deps.length === 0) return "Waiting for dependencies";
      return `Blocked by: ${deps.map(({ dependsOn }) => `"${dependsOn.title}" (${dependsOn.state})`).join(", ")}`;
    }
    if (task.state === "pending") {
      if (task.taskType === "step" && task.parentId) {
        const steps = stepsInOrder(
          await this.prisma.task.findMany({ where: { parentId: task.parentId }, select: SUBTASK_VIEW }),
        );
        const index = steps.findIndex((step) => step.state !== "completed");
        const blocker = steps[index];
        if (blocker && blocker.id !== task.id) {
          const stopped = blocker.state === "failed" || blocker.state === "cancelled";
          return stopped
            ? `Pipeline stopped: step ${index + 1} "${blocker.title}" is ${blocker.state}`
            : `Waiting for step ${index + 1}: "${blocker.title}" (${blocker.state})`;
        }
      }
      return "Not submitted yet";
    }
    if (task.state !== "queued") return null;
    const held = heldReason(await this.budget.status());
    if (held) return held;
    const repo = await this.prisma.repo.findUnique({ where: { repoUrl: task.repoUrl } });
    const required = [...new Set([...(task.requiredLabels ?? []), ...(repo?.requiredLabels ?? [])])];
    if (required.length > 0 && !(await this.liveRunnerCanTake(task.agentType, required)))
      return `No live runner has the labels this task requires (${required.join(", ")}) for agent type ${task.agentType}`;
    const limit = repo?.maxConcurrentTasks ?? DEFAULT_REPO_CONCURRENCY;
    const active = await this.prisma.task.count({
      where: { repoUrl: task.repoUrl, state: { in: ["provisioning", "running"] } },
    });
    if (active >= limit) return `Waiting for a repo slot (${active} of ${limit} running in this repo)`;
    const rows = await this.prisma.$queryRaw<{ ahead: bigint }[]>`
      SELECT count(*) AS ahead FROM tasks
       WHERE state = 'queued'
         AND (priority, position, created_at, id) < (${task.priority}, ${task.position}, ${task.createdAt}, ${task.id}::uuid)`;
    const count = Number(rows[0]?.ahead ?? 0);
    return count === 0 ? "Waiting for a runner" : `Waiting for a runner (${count} ahead in the queue)`;
  }

  private async liveRunnerCanTake(agentType: string, labels: string[]): Promise<boolean> {
    const runner = await this.prisma.runner.findFirst({
      where: {
        lastHeartbeatAt: { gt: new Date(Date.now() - this.runnerStaleMs) },
        stopping: false,
        agentTypes: { has: agentType },
        labels: { hasEvery: labels },
      },
      select: { id: true },
    });
    return runner !== null;
  }

  async events(id: string) {
    const exists = await this.prisma.task.findUnique({ where: { id }, select: { id: true } });
    if (!exists) throw taskNotFound();
    return this.prisma.taskEvent.findMany({ where: { taskId: id }, orderBy: { seq: "asc" } });
  }
}
