// Subtasks (child / step / review) of a task. Rules are in packages/core (subtasks.ts); the parent
// row is locked while a subtask is added so orders and pipeline states are computed consistently.
import type { AgentType, CreateSubtaskInput } from "@optio/contracts";
import {
  REVIEW_PRIORITY,
  blocksParentByDefault,
  initialSubtaskState,
  nextSubtaskOrder,
  subtaskPriority,
  subtaskStatus,
  reviewPrompt,
  type PrSnapshot,
  type SubtaskStatus,
} from "@optio/core";
import type { PrismaClient } from "../db/prisma";
import { AppError } from "../errors";
import type { Run, Task as TaskRow } from "../generated/prisma/client";
import { insertTask } from "./task-factory";
import { SUBTASK_VIEW, taskNotFound, type Actor, type Work } from "./task-machine";
import type { TaskUnitOfWork } from "./task-work";
import { LATEST_RUN } from "./task.view";

export class SubtaskService {
  private readonly prisma: PrismaClient;
  private readonly work: TaskUnitOfWork;

  constructor(options: { prisma: PrismaClient; work: TaskUnitOfWork }) {
    this.prisma = options.prisma;
    this.work = options.work;
  }

  async list(parentId: string): Promise<(TaskRow & { runs: Run[] })[]> {
    await this.requireTask(parentId);
    return this.prisma.task.findMany({
      where: { parentId },
      orderBy: [{ taskType: "asc" }, { subtaskOrder: "asc" }, { createdAt: "asc" }],
      include: LATEST_RUN,
    });
  }

  async status(parentId: string): Promise<SubtaskStatus> {
    await this.requireTask(parentId);
    return subtaskStatus(await this.prisma.task.findMany({ where: { parentId }, select: SUBTASK_VIEW }));
  }

  /** Inherits repo, branch, agent type and model from the parent unless given. */
  async create(parentId: string, input: CreateSubtaskInput, actor: Actor): Promise<TaskRow> {
    return this.work.run((work) => this.createIn(work, parentId, input, actor));
  }

  /** `create` inside the caller's transaction. */
  async createIn(work: Work, parentId: string, input: CreateSubtaskInput, actor: Actor): Promise<TaskRow> {
    const { tx } = work;
    const locked = await tx.$queryRaw<
      { id: string }[]
    >`SELECT id FROM tasks WHERE id = ${parentId}::uuid FOR UPDATE`;
    if (locked.length === 0) throw taskNotFound();
    const parent = await tx.task.findUniqueOrThrow({ where: { id: parentId } });
    if (parent.parentId) {
      throw new AppError(400, "VALIDATION_FAILED", "Subtasks cannot have subtasks", [
        { path: "params.id", reason: "is itself a subtask" },
      ]);
    }
    const siblings = await tx.task.findMany({ where: { parentId }, select: SUBTASK_VIEW });
    const type = input.taskType;
    const hold = initialSubtaskState(type, siblings) === "pending";
    const defaultPriority = type === "review" ? REVIEW_PRIORITY : subtaskPriority(parent.priority);
    const subtask = await insertTask(
      work.tx,
      {
        title: input.title,
        prompt: input.prompt,
        repoUrl: parent.repoUrl,
        repoBranch: input.repoBranch ?? parent.repoBranch,
        agentType: input.agentType ?? (parent.agentType as AgentType),
        model: input.model ?? parent.model,
        priority: input.priority ?? defaultPriority,
        maxAttempts: input.maxAttempts ?? parent.maxAttempts,
        maxCostUsd: input.maxCostUsd ?? parent.maxCostUsd,
        maxTurns: input.maxTurns ?? parent.maxTurns,
        metadata: input.metadata ?? {},
        createdBy: actor.kind === "user" ? actor.userId : parent.createdBy,
        taskType: type,
        parentId,
        subtaskOrder: nextSubtaskOrder(type, siblings),
        blocksParent: blocksParentByDefault(type, input.blocksParent),
      },
      { state: hold ? "pending" : "queued", actor },
    );
    if (!hold) work.after.wakeup = true;
    return subtask;
  }

  /** POST /api/tasks/:id/review: a review subtask of the task's PR (400 when it has none). */
  async review(parentId: string, actor: Actor): Promise<TaskRow> {
    return this.work.run((work) => this.reviewIn(work, parentId, actor));
  }

  /**
   * A review subtask on the PR's branch (the PR loop launches it too, in its own transaction). Its
   * prompt asks for the documented verdict line; the PR's watch row remembers which head it reviews.
   */
  async reviewIn(work: Work, parentId: string, actor: Actor): Promise<TaskRow> {
    const parent = await work.tx.task.findUnique({ where: { id: parentId } });
    if (!parent) throw taskNotFound();
    if (!parent.prUrl || !parent.prNumber) {
      throw new AppError(400, "VALIDATION_FAILED", "The task has no pull request to review", [
        { path: "params.id", reason: "task has no prUrl" },
      ]);
    }
    const watch = await work.tx.prWatch.findUnique({ where: { taskId: parentId } });
    const observed = watch?.observed as PrSnapshot | null | undefined;
    const pr: PrSnapshot = observed ?? {
      number: parent.prNumber,
      url: parent.prUrl,
      state: "open",
      merged: false,
      draft: false,
      headRef: parent.branchName ?? parent.repoBranch,
      headSha: "HEAD",
      baseRef: parent.repoBranch,
      mergeable: null,
      checks: { verdict: "none", items: [] },
      review: { decision: "none", requestedChanges: [] },
    };
    const subtask = await this.createIn(
      work,
      parentId,
      {
        title: `Review: ${parent.title}`.slice(0, 500),
        prompt: reviewPrompt(parent, pr),
        taskType: "review",
        repoBranch: parent.branchName ?? undefined,
      },
      actor,
    );
    if (watch) {
      await work.tx.prWatch.update({
        where: { taskId: parentId },
        data: {
          reviewTaskId: subtask.id,
          reviewSha: pr.headSha,
          reviewStatus: "running",
          reviewBody: null,
          reviewPosted: false,
        },
      });
    }
    return subtask;
  }

  private async requireTask(taskId: string): Promise<void> {
    const task = await this.prisma.task.findUnique({ where: { id: taskId }, select: { id: true } });
    if (!task) throw taskNotFound();
  }
}
