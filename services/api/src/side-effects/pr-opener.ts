// Opens the pull request of a run that pushed commits (side-effect purpose `open_pr`), then moves
// the task to pr_opened with prUrl/prNumber. Idempotent: an open PR from the task's branch is looked
// for first, so an attempt that created the PR and crashed before writing the state finds it.
import type { PrismaClient } from "../db/prisma";
import type { SideEffect } from "../generated/prisma/client";
import { isPlatformError } from "../platform/git-platform";
import type { GitPlatforms } from "../platform/platform-registry";
import { SYSTEM, type TaskMachine, type Work } from "../tasks/task-machine";
import type { TaskUnitOfWork } from "../tasks/task-work";
import type { SideEffectHandler } from "./side-effect.worker";
import { platformOfTask } from "./task-platform";

/** One PR per task branch: a force-redo's new branch gets its own. */
export const openPrPurpose = (branch: string) => `open_pr:${branch}`;

export type OpenPrInput = { runId: string; branch: string };

/** The last text the agent wrote in the run: its summary of what it did. */
async function agentSummary(prisma: PrismaClient, runId: string): Promise<string | null> {
  const line = await prisma.taskLog.findFirst({
    where: { runId, type: "text" },
    orderBy: { seq: "desc" },
    select: { content: true },
  });
  return line?.content.trim().slice(0, 20_000) || null;
}

export function pullRequestBody(input: {
  summary: string | null;
  taskId: string;
  taskUrl: string | null;
  issueNumber: number | null;
}): string {
  const parts = [input.summary ?? "_The agent left no summary._", ""];
  parts.push(
    input.taskUrl ? `Optio task: [${input.taskId}](${input.taskUrl})` : `Optio task: \`${input.taskId}\``,
  );
  if (input.issueNumber) parts.push("", `Closes #${input.issueNumber}`);
  return parts.join("\n");
}

export class PrOpener implements SideEffectHandler {
  readonly purposes = ["open_pr:"];

  constructor(
    private readonly options: {
      prisma: PrismaClient;
      platforms: GitPlatforms;
      machine: TaskMachine;
      work: TaskUnitOfWork;
      /** Base URL of task pages for the PR body (`<url>/<taskId>`), when known. */
      taskUrlBase?: string | null;
    },
  ) {}

  async perform(effect: SideEffect): Promise<Record<string, unknown>> {
    const { prisma } = this.options;
    const input = effect.input as OpenPrInput;
    const task = await prisma.task.findUniqueOrThrow({ where: { id: effect.taskId } });
    const { platform, coords } = await platformOfTask(prisma, this.options.platforms, task.id);
    const existing = await platform.findOpenPull(coords, input.branch);
    if (existing) return { number: existing.number, url: existing.url, found: true };
    const issueNumber = Number((task.metadata as Record<string, unknown>).issueNumber) || null;
    const body = pullRequestBody({
      summary: await agentSummary(prisma, input.runId),
      taskId: task.id,
      taskUrl: this.options.taskUrlBase ? `${this.options.taskUrlBase.replace(/\/$/, "")}/${task.id}` : null,
      issueNumber,
    });
    try {
      const pull = await platform.createPull(coords, {
        head: input.branch,
        base: task.repoBranch,
        title: task.title,
        body,
        draft: false,
      });
      return { number: pull.number, url: pull.url, found: false };
    } catch (error) {
      // Opened by a concurrent attempt between the look-up and the create.
      const raced = isPlatformError(error, "invalid")
        ? await platform.findOpenPull(coords, input.branch)
        : null;
      if (raced) return { number: raced.number, url: raced.url, found: true };
      throw error;
    }
  }

  async record(work: Work, effect: SideEffect, result: Record<string, unknown>): Promise<void> {
    const task = await work.tx.task.findUnique({ where: { id: effect.taskId }, select: { state: true } });
    // Cancelled (or otherwise moved on) while the PR was being opened: the PR stays, the task too.
    if (task?.state !== "running") return;
    await this.options.machine.transition(work, {
      taskId: effect.taskId,
      to: "pr_opened",
      trigger: "pr_opened",
      accepted: ["running"],
      actor: SYSTEM,
      runId: (effect.input as OpenPrInput).runId,
      data: { prUrl: String(result.url), prNumber: Number(result.number) },
    });
  }

  async giveUp(effect: SideEffect, reason: string): Promise<void> {
    await this.options.work.run(async (work) => {
      const task = await work.tx.task.findUnique({ where: { id: effect.taskId }, select: { state: true } });
      if (task?.state !== "running") return;
      await this.options.machine.transition(work, {
        taskId: effect.taskId,
        to: "needs_attention",
        trigger: "pr_open_failed",
        message: `PR_OPEN_FAILED: the branch was pushed but the pull request could not be opened: ${reason}`,
        accepted: ["running"],
        actor: SYSTEM,
      });
    });
  }
}
