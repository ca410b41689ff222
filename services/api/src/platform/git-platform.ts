// The one seam between Optio and a code-hosting platform (GitHub now, GitLab later): everything
// Optio does on a platform goes through a GitPlatform, and every platform failure becomes a
// PlatformError with a kind the callers switch on.
import type { PrSnapshot } from "@optio/core";

/** A repository on a platform (owner and name as the platform spells them). */
export type RepoCoords = { owner: string; name: string };

export type PlatformRepo = RepoCoords & {
  fullName: string;
  defaultBranch: string;
  private: boolean;
  webUrl: string;
};

export type PlatformIssue = {
  number: number;
  /** The platform's own id of the issue. */
  externalId: string;
  title: string;
  body: string;
  state: "open" | "closed";
  url: string;
  labels: string[];
  author: string | null;
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
};

export type PlatformComment = { id: string; author: string | null; body: string; createdAt: string };

/** A pull request's identity and state (the snapshot's leading fields). */
export type PlatformPull = Pick<
  PrSnapshot,
  "number" | "url" | "state" | "merged" | "draft" | "headRef" | "headSha" | "baseRef"
>;

export type MergeMethod = "merge" | "squash" | "rebase";
export type ReviewEvent = "approve" | "request_changes" | "comment";

/** One look at a PR: the snapshot, and whether anything differs from the previous look. */
export type PrObservation = { snapshot: PrSnapshot; changed: boolean };

export interface GitPlatform {
  readonly kind: "github";
  getRepo(repo: RepoCoords): Promise<PlatformRepo>;
  /** Issues only (pull requests excluded), newest first; with `label`, only those carrying it. */
  listIssues(
    repo: RepoCoords,
    query: { state: "open" | "closed" | "all"; limit: number; offset: number; label?: string },
  ): Promise<{ issues: PlatformIssue[]; hasMore: boolean }>;
  /** An issue by number; a pull request's number is NOT_FOUND. */
  getIssue(repo: RepoCoords, number: number): Promise<PlatformIssue>;
  listIssueComments(repo: RepoCoords, number: number): Promise<PlatformComment[]>;
  addLabels(repo: RepoCoords, number: number, labels: string[]): Promise<void>;
  createComment(repo: RepoCoords, number: number, body: string): Promise<{ id: string; url: string }>;
  closeIssue(repo: RepoCoords, number: number): Promise<void>;
  /** The open pull request whose head is `head` (a branch of the same repo), if any. */
  findOpenPull(repo: RepoCoords, head: string): Promise<PlatformPull | null>;
  createPull(
    repo: RepoCoords,
    input: { head: string; base: string; title: string; body: string; draft: boolean },
  ): Promise<PlatformPull>;
  getPull(repo: RepoCoords, number: number): Promise<PlatformPull>;
  closePull(repo: RepoCoords, number: number): Promise<void>;
  /** Merges with `method`; `sha` guards against a head that moved since it was checked. */
  mergePull(
    repo: RepoCoords,
    number: number,
    input: { method: MergeMethod; sha?: string },
  ): Promise<{ sha: string }>;
  createReview(repo: RepoCoords, number: number, input: { event: ReviewEvent; body: string }): Promise<void>;
  /**
   * The PR with its checks (check runs, paginated, and commit statuses) and reviews, by
   * conditional requests: an unchanged PR is answered 304 and costs no rate limit.
   */
  observePull(repo: RepoCoords, number: number): Promise<PrObservation>;
}

export type PlatformErrorKind =
  | "auth" // the platform rejected the credential (401)
  | "forbidden" // the credential lacks a permission (403, not a rate limit)
  | "not_found"
  | "invalid" // the platform refused the request (422), e.g. no commits between branches
  | "conflict" // e.g. the head moved before a merge, or the PR is not mergeable
  | "rate_limited"
  | "unavailable" // network errors and 5xx
  | "not_configured"; // no platform credential for the repo

export class PlatformError extends Error {
  constructor(
    readonly kind: PlatformErrorKind,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = "PlatformError";
  }
}

export const isPlatformError = (error: unknown, kind?: PlatformErrorKind): error is PlatformError =>
  error instanceof PlatformError && (kind === undefined || error.kind === kind);
