// The reconciler: for one task, compares the observed PR snapshot with the handled one, applies
// the decision (packages/core reconcilePr) and records what it handled, in one transaction; then
// carries out the platform writes (post the review verdict, merge) after commit. Those writes are
// keyed for idempotency and re-decided on every pass, so a crash in between loses nothing.
import { reconcilePr, type PrAction, type PrSnapshot } from "@optio/core";
import type { Logger } from "pino";
import { AppError } from "../errors";
import type { PrWatch } from "../generated/prisma/client";
import type { TaskUnitOfWork } from "../tasks/task-work";
import { prLoopSettings, prTaskView, repoOf, type PrActionApplier } from "./pr-actions";
import type { PrPlatform, PrTarget } from "./pr-platform";
import type { PrWatchStore } from "./pr-watch.store";

type Merge = Extract<PrAction, { type: "merge" }>;
type ReviewPost = { reviewTaskId: string; approved: boolean; body: string; headSha: string };
type AfterCommit = { target: PrTarget; merge: Merge | null; review: ReviewPost | null };

function pendingReviewPost(watch: PrWatch): ReviewPost | null {
  const done = watch.reviewStatus === "approved" || watch.reviewStatus === "changes_requested";
  if (!done || watch.reviewPosted || !watch.reviewTaskId || !watch.reviewSha) return null;
  return {
    reviewTaskId: watch.reviewTaskId,
    approved: watch.reviewStatus === "approved",
    body: watch.reviewBody ?? "",
    headSha: watch.reviewSha,
  };
}

export class PrReconciler {
  private readonly work: TaskUnitOfWork;
  private readonly store: PrWatchStore;
  private readonly applier: PrActionApplier;
  private readonly platform: PrPlatform;
  private readonly logger: Logger;

  constructor(options: {
    work: TaskUnitOfWork;
    store: PrWatchStore;
    applier: PrActionApplier;
    platform: PrPlatform;
    logger: Logger;
  }) {
    this.work = options.work;
    this.store = options.store;
    this.applier = options.applier;
    this.platform = options.platform;
    this.logger = options.logger;
  }

  /** One pass for one task; returns the actions it took (for logs and tests). */
  async reconcile(taskId: string): Promise<PrAction[]> {
    const pass = await this.work.run(async (work) => {
      const watch = await this.store.lock(work.tx, taskId);
      const task = watch && (await work.tx.task.findUnique({ where: { id: taskId } }));
      if (watch?.closeRequested && task) {
        return { close: { taskId, repoId: task.repoId, repoUrl: task.repoUrl, prNumber: watch.prNumber } };
      }
      if (!watch?.observed || !task) return null;
      const observed = watch.observed as PrSnapshot;
      const settings = prLoopSettings(await repoOf(work.tx, task));
      const view = await prTaskView(work.tx, task, watch);
      const decision = reconcilePr(watch.handled as PrSnapshot | null, observed, view, settings);
      let merge: Merge | null = null;
      for (const action of decision.actions) merge = (await this.applier.apply(work, task, action)) ?? merge;
      if (decision.handled) await this.store.recordHandled(work.tx, watch);
      const after: AfterCommit = {
        target: { taskId, repoId: task.repoId, repoUrl: task.repoUrl, prNumber: watch.prNumber },
        merge,
        review: pendingReviewPost(watch),
      };
      return { actions: decision.actions, after };
    });
    if (!pass) return [];
    if ("close" in pass && pass.close) {
      await this.closeAbandoned(pass.close);
      return [];
    }
    if (pass.actions.length > 0)
      this.logger.info({ taskId, actions: pass.actions.map((a) => a.type) }, "PR reconciled");
    if (pass.after.review) await this.postReview(pass.after.target, pass.after.review);
    if (pass.after.merge) await this.merge(pass.after.target, pass.after.merge);
    return pass.actions;
  }

  /** The review agent's verdict as a PR review (the platform may turn it into a comment). */
  private async postReview(target: PrTarget, review: ReviewPost): Promise<void> {
    await this.platform.review(target, {
      event: review.approved ? "APPROVE" : "REQUEST_CHANGES",
      body: review.body || (review.approved ? "Approved by the Optio review agent." : "Changes requested."),
      headSha: review.headSha,
      key: `review:${review.reviewTaskId}`,
    });
    await this.work.run(({ tx }) =>
      tx.prWatch.updateMany({
        where: { taskId: target.taskId, reviewTaskId: review.reviewTaskId },
        data: { reviewPosted: true },
      }),
    );
  }

  /** force-redo started the task over: its old PR is closed with a comment, and forgotten. */
  private async closeAbandoned(target: PrTarget): Promise<void> {
    await this.platform.close(target, {
      comment:
        "Optio is starting this task over on a new branch (force-redo); this pull request is superseded.",
      key: `close:${target.taskId}:${target.prNumber}`,
    });
    await this.work.run(({ tx }) =>
      tx.prWatch.deleteMany({
        where: { taskId: target.taskId, prNumber: target.prNumber, closeRequested: true },
      }),
    );
    this.logger.info({ taskId: target.taskId, prNumber: target.prNumber }, "abandoned PR closed");
  }

  private async merge(target: PrTarget, merge: Merge): Promise<void> {
    const result = await this.platform.merge(target, {
      method: merge.method,
      headSha: merge.headSha,
      key: `merge:${target.taskId}`,
    });
    if (!result.merged) {
      // A newer head or a changed base: the next observation decides again.
      this.logger.warn({ taskId: target.taskId, reason: result.reason }, "auto-merge refused");
      return;
    }
    try {
      await this.work.run(async (work) => {
        const task = await work.tx.task.findUniqueOrThrow({ where: { id: target.taskId } });
        await this.applier.complete(work, task, {
          trigger: "auto_merged",
          message: `PR #${target.prNumber} merged (${merge.method})`,
          accepted: ["pr_opened"],
        });
      });
    } catch (err) {
      // The merged webhook got there first: the task is already completed.
      if (!(err instanceof AppError && err.code === "INVALID_TRANSITION")) throw err;
    }
  }
}
