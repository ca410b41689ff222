// How a review subtask's end moves its parent: the verdict is stored on the parent's PR watch (to be
// posted as a PR review by the reconciler after commit), and requested changes go back to the agent
// (a fix-up run) or to a human, in the same transaction as the review's own result.
import { reactToReviewVerdict, type PrSnapshot } from "@optio/core";
import type { ReviewListener } from "../dispatch/report-applier";
import { prLoopSettings, prTaskView, repoOf, type PrActionApplier } from "./pr-actions";

export function reviewVerdictListener(applier: PrActionApplier): ReviewListener {
  return async (work, review, verdict) => {
    const parentId = review.parentId;
    if (!parentId) return;
    const { tx } = work;
    const current = await tx.prWatch.findUnique({ where: { taskId: parentId } });
    // A review the loop no longer waits for (a newer one was launched) changes nothing.
    if (!current || current.reviewTaskId !== review.id) return;
    const watch = await tx.prWatch.update({
      where: { taskId: parentId },
      data: {
        reviewStatus: !verdict ? "failed" : verdict.verdict === "approve" ? "approved" : "changes_requested",
        reviewBody: verdict?.body ?? null,
        reviewPosted: false,
      },
    });
    // No verdict: the failed review marks the parent needs_attention (subtask rules).
    const parent = await tx.task.findUnique({ where: { id: parentId } });
    if (!verdict || !parent || !watch.observed) return;
    const action = reactToReviewVerdict(
      { approved: verdict.verdict === "approve", body: verdict.body },
      watch.observed as PrSnapshot,
      await prTaskView(tx, parent, watch),
      prLoopSettings(await repoOf(tx, parent)),
    );
    if (action) await applier.apply(work, parent, action);
  };
}
