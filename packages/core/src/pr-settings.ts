// A repository's pull-request loop settings: what Optio does on its own once a PR is open.
// One definition of the names and defaults; the contracts validate them and the database stores them.

export const REVIEW_TRIGGERS = ["on_pr", "on_ci_pass", "manual"] as const;
export type ReviewTrigger = (typeof REVIEW_TRIGGERS)[number];

export const MERGE_METHODS = ["squash", "merge", "rebase"] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];

export type PrLoopSettings = {
  /** Merge the PR once it is green (checks passing, approvals and reviews as configured). */
  autoMerge: boolean;
  /** Start a fix-up run on failing checks, requested changes or a merge conflict. */
  autoResume: boolean;
  /** Fix-up runs the loop may start on its own before asking a human. */
  maxAutoResumes: number;
  /** Run the review agent on the PR (when: `reviewTrigger`). */
  reviewEnabled: boolean;
  reviewTrigger: ReviewTrigger;
  mergeMethod: MergeMethod;
  /** Draft PRs and never an automatic merge. */
  cautiousMode: boolean;
  /** Auto-merge only an approved PR (a platform approval or the review agent's). */
  requireApproval: boolean;
};

export const PR_LOOP_DEFAULTS: Readonly<PrLoopSettings> = {
  autoMerge: false,
  autoResume: false,
  maxAutoResumes: 3,
  reviewEnabled: false,
  reviewTrigger: "on_ci_pass",
  mergeMethod: "squash",
  cautiousMode: false,
  requireApproval: false,
};
