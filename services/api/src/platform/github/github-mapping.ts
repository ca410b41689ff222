// Pure mapping from GitHub's REST shapes to the platform-neutral types, and from GitHub errors to
// PlatformError.
import {
  checksVerdict,
  type CheckState,
  type PrCheck,
  type PrSnapshot,
  type ReviewDecision,
} from "@optio/core";
import { PlatformError, type PlatformIssue, type PlatformPull } from "../git-platform";

export type GhUser = { login: string } | null;
export type GhLabel = string | { name?: string };
export type GhIssue = {
  id: number;
  number: number;
  title: string;
  body?: string | null;
  state: string;
  html_url: string;
  labels: GhLabel[];
  user: GhUser;
  assignee?: GhUser;
  created_at: string;
  updated_at: string;
  pull_request?: unknown;
};
export type GhPull = {
  number: number;
  html_url: string;
  state: string;
  merged?: boolean;
  merged_at?: string | null;
  draft?: boolean;
  mergeable?: boolean | null;
  head: { ref: string; sha: string };
  base: { ref: string };
};
export type GhCheckRun = {
  name: string;
  status: string;
  conclusion: string | null;
  details_url?: string | null;
  html_url?: string | null;
  output?: { title?: string | null; summary?: string | null };
};
export type GhStatus = {
  context: string;
  state: string;
  description?: string | null;
  target_url?: string | null;
};
export type GhReview = { state: string; body?: string | null; user: GhUser; submitted_at?: string };

export function toIssue(issue: GhIssue): PlatformIssue {
  return {
    number: issue.number,
    externalId: String(issue.id),
    title: issue.title,
    body: issue.body ?? "",
    state: issue.state === "closed" ? "closed" : "open",
    url: issue.html_url,
    labels: issue.labels
      .map((label) => (typeof label === "string" ? label : (label.name ?? "")))
      .filter(Boolean),
    author: issue.user?.login ?? null,
    assignee: issue.assignee?.login ?? null,
    createdAt: issue.created_at,
    updatedAt: issue.updated_at,
  };
}

export function toPull(pull: GhPull): PlatformPull {
  return {
    number: pull.number,
    url: pull.html_url,
    state: pull.state === "closed" ? "closed" : "open",
    merged: pull.merged ?? Boolean(pull.merged_at),
    draft: pull.draft ?? false,
    headRef: pull.head.ref,
    headSha: pull.head.sha,
    baseRef: pull.base.ref,
  };
}

function checkRunState(run: GhCheckRun): CheckState {
  if (run.status !== "completed") return "pending";
  switch (run.conclusion) {
    case "success":
      return "success";
    case "neutral":
    case "stale":
      return "neutral";
    case "skipped":
      return "skipped";
    case "cancelled":
      return "cancelled";
    default:
      return "failure"; // failure, timed_out, action_required, startup_failure
  }
}

export function checkFromRun(run: GhCheckRun): PrCheck {
  return {
    name: run.name,
    state: checkRunState(run),
    url: run.details_url ?? run.html_url ?? null,
    summary: run.output?.summary ?? run.output?.title ?? null,
  };
}

export function checkFromStatus(status: GhStatus): PrCheck {
  const state: CheckState =
    status.state === "success" ? "success" : status.state === "pending" ? "pending" : "failure";
  return { name: status.context, state, url: status.target_url ?? null, summary: status.description ?? null };
}

/** Each reviewer's latest deciding review counts; one request for changes outweighs approvals. */
export function reviewOf(reviews: GhReview[]): PrSnapshot["review"] {
  const latest = new Map<string, GhReview>();
  for (const review of reviews) {
    if (review.state === "COMMENTED" || review.state === "PENDING") continue;
    latest.set(review.user?.login ?? "", review);
  }
  const deciding = [...latest.values()].filter((review) => review.state !== "DISMISSED");
  const requested = deciding.filter((review) => review.state === "CHANGES_REQUESTED");
  const decision: ReviewDecision = requested.length
    ? "changes_requested"
    : deciding.some((review) => review.state === "APPROVED")
      ? "approved"
      : "none";
  return { decision, requestedChanges: requested.map((review) => review.body ?? "").filter(Boolean) };
}

export function toSnapshot(
  pull: GhPull,
  runs: GhCheckRun[],
  statuses: GhStatus[],
  reviews: GhReview[],
): PrSnapshot {
  const items = [...runs.map(checkFromRun), ...statuses.map(checkFromStatus)];
  const base = toPull(pull);
  return {
    number: base.number,
    url: base.url,
    state: base.state,
    merged: base.merged,
    draft: base.draft,
    headRef: base.headRef,
    headSha: base.headSha,
    baseRef: base.baseRef,
    mergeable: pull.mergeable ?? null,
    checks: { verdict: checksVerdict(items), items },
    review: reviewOf(reviews),
  };
}

/** Octokit's RequestError (or a network failure) as a PlatformError; the token never appears. */
export function toPlatformError(error: unknown, what: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const status = (error as { status?: number } | null)?.status;
  const message = (error as { message?: string } | null)?.message ?? String(error);
  if (typeof status !== "number" || status === 500 || status >= 502) {
    return new PlatformError(
      "unavailable",
      `GitHub is unavailable (${what}): ${status ?? "network error"}`,
      status ?? null,
    );
  }
  if (status === 401) return new PlatformError("auth", `GitHub rejected the credential (${what})`, status);
  if (status === 429 || (status === 403 && /rate limit/i.test(message))) {
    return new PlatformError("rate_limited", `GitHub rate limit reached (${what})`, status);
  }
  if (status === 403)
    return new PlatformError("forbidden", `GitHub refused ${what}: permission missing`, status);
  if (status === 404 || status === 410)
    return new PlatformError("not_found", `Not found on GitHub: ${what}`, status);
  if (status === 405 || status === 409)
    return new PlatformError("conflict", `GitHub refused ${what}: ${message}`, status);
  return new PlatformError("invalid", `GitHub refused ${what}: ${message}`, status);
}
