// Dependency edges between tasks: "A depends on B" (A may start once B has completed).
// Edges are added under one advisory lock, with the cycle check inside the same transaction, so two
// concurrent additions (A→B and B→A) cannot both pass it.
import {
  DEPENDENCY_EDITABLE_STATES,
  dependencyVerdict,
  findCycle,
  type DependencyEdge,
  type TaskState,
} from "@optio/core";
import type { PrismaClient } from "../db/prisma";
import { AppError, notFound } from "../errors";
import type { Outbox } from "../events/outbox";
import { checkDependencies } from "./task-factory";
import { invalidTransition, taskNotFound, type Actor, type TaskMachine } from "./task-machine";
import type { TaskUnitOfWork } from "./task-work";

/** Arbitrary constant: the advisory lock serialising changes to the dependency graph. */
const GRAPH_LOCK = 7_302_001;

export type DependencyView = { id: string; title: string; state: TaskState; dependencyId: string };

export class DependencyService {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;

  constructor(options: { prisma: PrismaClient; outbox: Outbox; machine: TaskMachine; work: TaskUnitOfWork }) {
    this.prisma = options.prisma;
    this.outbox = options.outbox;
    this.machine = options.machine;
    this.work = options.work;
  }

  async list(taskId: string): Promise<DependencyView[]> {
    await this.requireTask(taskId);
    const edges = await this.prisma.taskDependency.findMany({
      where: { taskId },
      select: { dependsOn: { select: { id: true, title: true, state: true } } },
      orderBy: { createdAt: "asc" },
    });
    return edges.map(({ dependsOn }) => ({ ...dependsOn, dependencyId: dependsOn.id }));
  }

  async dependents(taskId: string): Promise<DependencyView[]> {
    await this.requireTask(taskId);
    const edges = await this.prisma.taskDependency.findMany({
      where: { dependsOnId: taskId },
      select: { task: { select: { id: true, title: true, state: true } } },
      orderBy: { createdAt: "asc" },
    });
    return edges.map(({ task }) => ({ ...task, dependencyId: taskId }));
  }

  /** Adds edges taskId → each of dependsOn; a queued task whose new dependency is unmet waits again. */
  async add(taskId: string, dependsOn: string[], actor: Actor): Promise<DependencyView[]> {
    await this.work.run(async (work) => {
      const { tx } = work;
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${GRAPH_LOCK})`;
      const self = dependsOn.findIndex((id) => id === taskId);
      if (self >= 0) {
        throw new AppError(400, "DEPENDENCY_CYCLE", "A task cannot depend on itself", [
          {
            path: `body.dependsOn.${self}`,
            reason: "a task cannot depend on itself",
            cycle: [taskId, taskId],
          },
        ]);
      }
      const deps = await checkDependencies(tx, dependsOn, "body.dependsOn");
      const task = await tx.task.findUnique({ where: { id: taskId }, select: { id: true, state: true } });
      if (!task) throw taskNotFound();
      if (!DEPENDENCY_EDITABLE_STATES.includes(task.state)) {
        throw invalidTransition(taskId, task.state, "add dependencies to");
      }
      const existing = await tx.taskDependency.findMany({ where: { taskId }, select: { dependsOnId: true } });
      const fresh = deps.filter((dep) => !existing.some((edge) => edge.dependsOnId === dep.id));
      if (fresh.length === 0) return;

      // Every edge reachable from the new targets: enough to find a path back to taskId.
      const edges: DependencyEdge[] = await tx.$queryRaw<DependencyEdge[]>`
        WITH RECURSIVE reach(id) AS (
          SELECT unnest(${fresh.map((dep) => dep.id)}::uuid[])
          UNION
          SELECT d.depends_on_id FROM task_dependencies d JOIN reach r ON d.task_id = r.id
        )
        SELECT d.task_id AS "taskId", d.depends_on_id AS "dependsOnId"
          FROM task_dependencies d JOIN reach r ON d.task_id = r.id`;
      for (const dep of fresh) {
        const cycle = findCycle(edges, taskId, dep.id);
        if (cycle) {
          throw new AppError(400, "DEPENDENCY_CYCLE", `Dependency cycle: ${cycle.join(" → ")}`, [
            { path: `body.dependsOn.${dependsOn.indexOf(dep.id)}`, reason: "would create a cycle", cycle },
          ]);
        }
        edges.push({ taskId, dependsOnId: dep.id });
      }
      await tx.taskDependency.createMany({ data: fresh.map((dep) => ({ taskId, dependsOnId: dep.id })) });
      for (const dep of fresh) {
        await this.outbox.record(tx, {
          entity: "task",
          entityId: taskId,
          event: "dependency_added",
          data: { taskId, dependsOnId: dep.id },
        });
      }
      if (task.state === "queued") {
        const verdict = dependencyVerdict(await this.machine.dependencyStates(tx, taskId));
        if (verdict !== "met") {
          await this.machine.transition(work, {
            taskId,
            to: "waiting_on_deps",
            trigger: "dependency_added",
            accepted: ["queued"],
            actor,
          });
        }
      }
    });
    return this.list(taskId);
  }

  /** Removes an edge and re-evaluates the waiting task at once. */
  async remove(taskId: string, dependsOnId: string, actor: Actor): Promise<void> {
    await this.work.run(async (work) => {
      const { tx } = work;
      await this.machine.lockDependencyStates(tx, taskId);
      const { count } = await tx.taskDependency.deleteMany({ where: { taskId, dependsOnId } });
      if (count === 0) {
        await this.requireTask(taskId);
        throw notFound("NOT_FOUND", "Dependency not found");
      }
      await this.outbox.record(tx, {
        entity: "task",
        entityId: taskId,
        event: "dependency_removed",
        data: { taskId, dependsOnId },
      });
      const task = await tx.task.findUniqueOrThrow({ where: { id: taskId }, select: { state: true } });
      if (task.state !== "waiting_on_deps") return;
      if (dependencyVerdict(await this.machine.dependencyStates(tx, taskId)) === "met") {
        await this.machine.transition(work, {
          taskId,
          to: "queued",
          trigger: "dependencies_met",
          message: `Dependency ${dependsOnId} removed`,
          accepted: ["waiting_on_deps"],
          actor,
        });
      }
    });
  }

  private async requireTask(taskId: string): Promise<void> {
    const task = await this.prisma.task.findUnique({ where: { id: taskId }, select: { id: true } });
    if (!task) throw taskNotFound();
  }
}
