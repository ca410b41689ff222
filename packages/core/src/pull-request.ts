// What Optio knows of a pull request at one moment: the watcher (webhooks or polling) records the
// latest *observed* snapshot per task; the reconciler compares it with the last *handled* one and
// acts once per change. Platform-neutral: the GitHub client (and a GitLab one later) produce it.

export type CheckState = "pending" | "success" | "failure" | "neutral" | "skipped" | "cancelled";

/** One check run or commit status on the PR's head commit. */
export type PrCheck = {
  name: string;
  state: CheckState;
  /** Link to the check's page, when the platform gives one. */
  url: string | null;
  /** The check's summary or status description (a log excerpt for the fix-up prompt). */
  summary: string | null;
};

/** All checks together: `failing` when any failed, else `pending` while any runs, else `passing`. */
export type ChecksVerdict = "none" | "pending" | "passing" | "failing";

export type ReviewDecision = "none" | "approved" | "changes_requested";

export type PrSnapshot = {
  number: number;
  url: string;
  state: "open" | "closed";
  merged: boolean;
  draft: boolean;
  headRef: string;
  headSha: string;
  baseRef: string;
  /** null while the platform is still computing mergeability. */
  mergeable: boolean | null;
  checks: { verdict: ChecksVerdict; items: PrCheck[] };
  review: {
    decision: ReviewDecision;
    /** Bodies of the reviews and review comments that requested changes (for the fix-up prompt). */
    requestedChanges: string[];
  };
};

export function checksVerdict(items: readonly PrCheck[]): ChecksVerdict {
  if (items.length === 0) return "none";
  if (items.some((check) => check.state === "failure" || check.state === "cancelled")) return "failing";
  if (items.some((check) => check.state === "pending")) return "pending";
  return "passing";
}
