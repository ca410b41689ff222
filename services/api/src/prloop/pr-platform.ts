// What the PR loop needs from the git platform. The GitHub client implements it (GitLab later);
// every write carries an idempotency key so a repeated call (a retried reconcile, a redelivered
// webhook, an API restart) never posts, merges or closes twice.
import type { MergeMethod, PrSnapshot } from "@optio/core";

/** A task's pull request on its repository. */
export type PrTarget = { taskId: string; repoId?: string | null; repoUrl: string; prNumber: number };

export type PrReviewEvent = "APPROVE" | "REQUEST_CHANGES" | "COMMENT";

export interface PrPlatform {
  /** The PR's current state (head, checks and statuses, reviews, mergeability). */
  snapshot(target: PrTarget): Promise<PrSnapshot>;
  /** Merges the PR at `headSha` (a newer head makes it refuse): `merged`, or why not. */
  merge(
    target: PrTarget,
    input: { method: MergeMethod; headSha: string; key: string },
  ): Promise<{ merged: true } | { merged: false; reason: string }>;
  /** Posts a review on the PR's `headSha`. */
  review(
    target: PrTarget,
    input: { event: PrReviewEvent; body: string; headSha: string; key: string },
  ): Promise<void>;
  /** Closes the PR, with a comment saying why. */
  close(target: PrTarget, input: { comment: string; key: string }): Promise<void>;
}
