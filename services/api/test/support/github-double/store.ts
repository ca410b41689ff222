// TEST ONLY. The GitHub double's state: repositories with their issues and pull requests (one
// number sequence, like GitHub), comments, labels, reviews, check runs and commit statuses, and the
// JSON shapes GitHub's REST API returns for them.

export type User = { login: string; id: number; type: "User" | "Bot" };

export type IssueRecord = {
  number: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  stateReason: "completed" | "not_planned" | "reopened" | null;
  labels: string[];
  author: User;
  assignee: User | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Set when this number is a pull request. */
  pull: PullRecord | null;
};

export type PullRecord = {
  head: string;
  /** Head commit when the PR was closed or merged (a live PR reads it from git). */
  frozenHeadSha: string | null;
  base: string;
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  mergedBy: User | null;
};

export type CommentRecord = { id: number; body: string; author: User; createdAt: string; updatedAt: string };

export type ReviewRecord = {
  id: number;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";
  body: string;
  commitId: string;
  author: User;
  submittedAt: string;
};

export type CheckRunRecord = {
  id: number;
  name: string;
  status: "queued" | "in_progress" | "completed";
  conclusion:
    "success" | "failure" | "neutral" | "cancelled" | "skipped" | "timed_out" | "action_required" | null;
  title: string | null;
  summary: string | null;
  detailsUrl: string | null;
  startedAt: string;
  completedAt: string | null;
};

export type StatusRecord = {
  id: number;
  context: string;
  state: "pending" | "success" | "failure" | "error";
  description: string | null;
  targetUrl: string | null;
  createdAt: string;
  updatedAt: string;
};

export type RepoRecord = {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
  nextNumber: number;
  issues: Map<number, IssueRecord>;
  comments: Map<number, CommentRecord[]>;
  reviews: Map<number, ReviewRecord[]>;
  /** Check runs and statuses by commit sha. */
  checkRuns: Map<string, CheckRunRecord[]>;
  statuses: Map<string, StatusRecord[]>;
  labels: Set<string>;
};

/** Ids shared by every record kind, like GitHub's global ids. */
export class IdSequence {
  private last = 1000;
  next(): number {
    return ++this.last;
  }
}

export const repoKey = (owner: string, name: string) => `${owner}/${name}`.toLowerCase();

/** Renders records in GitHub's REST shapes; `baseUrl` is the double's web URL, `apiUrl` its API. */
export class Renderer {
  constructor(
    private readonly baseUrl: string,
    private readonly apiUrl: string,
  ) {}

  user(user: User) {
    return {
      login: user.login,
      id: user.id,
      type: user.type,
      html_url: `${this.baseUrl}/${user.login}`,
      url: `${this.apiUrl}/users/${user.login}`,
    };
  }

  repo(repo: RepoRecord) {
    const fullName = `${repo.owner}/${repo.name}`;
    return {
      id: repo.id,
      name: repo.name,
      full_name: fullName,
      owner: { login: repo.owner, id: repo.id + 1, type: "Organization" },
      private: repo.private,
      default_branch: repo.defaultBranch,
      html_url: `${this.baseUrl}/${fullName}`,
      clone_url: `${this.baseUrl}/${fullName}.git`,
      url: `${this.apiUrl}/repos/${fullName}`,
    };
  }

  issue(repo: RepoRecord, issue: IssueRecord) {
    const fullName = `${repo.owner}/${repo.name}`;
    return {
      id: repo.id * 100_000 + issue.number,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      state_reason: issue.stateReason,
      labels: issue.labels.map((name) => ({ name, color: "6d28d9" })),
      user: this.user(issue.author),
      assignee: issue.assignee ? this.user(issue.assignee) : null,
      comments: repo.comments.get(issue.number)?.length ?? 0,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt,
      html_url: `${this.baseUrl}/${fullName}/${issue.pull ? "pull" : "issues"}/${issue.number}`,
      url: `${this.apiUrl}/repos/${fullName}/issues/${issue.number}`,
      ...(issue.pull
        ? { pull_request: { url: `${this.apiUrl}/repos/${fullName}/pulls/${issue.number}` } }
        : {}),
    };
  }

  pull(
    repo: RepoRecord,
    issue: IssueRecord,
    live: { headSha: string; baseSha: string; mergeable: boolean | null },
  ) {
    const pull = issue.pull!;
    const fullName = `${repo.owner}/${repo.name}`;
    const repoJson = this.repo(repo);
    return {
      id: repo.id * 100_000 + issue.number,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      draft: pull.draft,
      merged: pull.merged,
      merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergeCommitSha,
      merged_by: pull.mergedBy ? this.user(pull.mergedBy) : null,
      mergeable: issue.state === "open" ? live.mergeable : null,
      mergeable_state: issue.state !== "open" ? "unknown" : live.mergeable === false ? "dirty" : "clean",
      user: this.user(issue.author),
      labels: issue.labels.map((name) => ({ name, color: "6d28d9" })),
      head: { ref: pull.head, sha: live.headSha, label: `${repo.owner}:${pull.head}`, repo: repoJson },
      base: { ref: pull.base, sha: live.baseSha, label: `${repo.owner}:${pull.base}`, repo: repoJson },
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt,
      html_url: `${this.baseUrl}/${fullName}/pull/${issue.number}`,
      url: `${this.apiUrl}/repos/${fullName}/pulls/${issue.number}`,
    };
  }

  comment(repo: RepoRecord, issueNumber: number, comment: CommentRecord) {
    const fullName = `${repo.owner}/${repo.name}`;
    return {
      id: comment.id,
      body: comment.body,
      user: this.user(comment.author),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      html_url: `${this.baseUrl}/${fullName}/issues/${issueNumber}#issuecomment-${comment.id}`,
    };
  }

  review(repo: RepoRecord, pullNumber: number, review: ReviewRecord) {
    return {
      id: review.id,
      state: review.state,
      body: review.body,
      commit_id: review.commitId,
      user: this.user(review.author),
      submitted_at: review.submittedAt,
      html_url: `${this.baseUrl}/${repo.owner}/${repo.name}/pull/${pullNumber}#pullrequestreview-${review.id}`,
    };
  }

  checkRun(sha: string, run: CheckRunRecord, pulls: Array<{ number: number; head: string; base: string }>) {
    return {
      id: run.id,
      name: run.name,
      head_sha: sha,
      status: run.status,
      conclusion: run.conclusion,
      started_at: run.startedAt,
      completed_at: run.completedAt,
      details_url: run.detailsUrl,
      html_url: run.detailsUrl,
      output: { title: run.title, summary: run.summary },
      pull_requests: pulls.map((pull) => ({
        number: pull.number,
        head: { ref: pull.head, sha },
        base: { ref: pull.base },
      })),
    };
  }

  status(status: StatusRecord) {
    return {
      id: status.id,
      context: status.context,
      state: status.state,
      description: status.description,
      target_url: status.targetUrl,
      created_at: status.createdAt,
      updated_at: status.updatedAt,
    };
  }
}
