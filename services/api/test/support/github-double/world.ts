// TEST ONLY. The GitHub double's domain operations, shared by its REST routes and its test-control
// methods: every change goes through here, so both emit the same webhook deliveries.
import { GitBacking } from "./git-backing";
import { notFound, unprocessable, HttpError } from "./router";
import {
  IdSequence,
  Renderer,
  repoKey,
  type CheckRunRecord,
  type CommentRecord,
  type IssueRecord,
  type RepoRecord,
  type ReviewRecord,
  type StatusRecord,
  type User,
} from "./store";
import { newDelivery, type Hook, type WebhookQueue } from "./webhooks";

export type MergeMethod = "merge" | "squash" | "rebase";

export class GitHubWorld {
  readonly ids = new IdSequence();
  readonly repos = new Map<string, RepoRecord>();
  readonly users = new Map<string, User>();
  private readonly hooks = new Map<string, Hook[]>();
  /** A clock tests can move (timestamps in payloads). */
  now: () => Date = () => new Date();

  constructor(
    readonly render: Renderer,
    readonly git: GitBacking,
    private readonly webhooks: WebhookQueue,
  ) {}

  user(login: string): User {
    let user = this.users.get(login);
    if (!user) {
      user = { login, id: this.ids.next(), type: login.endsWith("[bot]") ? "Bot" : "User" };
      this.users.set(login, user);
    }
    return user;
  }

  addRepo(owner: string, name: string, options: { defaultBranch: string; private: boolean }): RepoRecord {
    const record: RepoRecord = {
      id: this.ids.next(),
      owner,
      name,
      defaultBranch: options.defaultBranch,
      private: options.private,
      nextNumber: 1,
      issues: new Map(),
      comments: new Map(),
      reviews: new Map(),
      checkRuns: new Map(),
      statuses: new Map(),
      labels: new Set(),
    };
    this.repos.set(repoKey(owner, name), record);
    return record;
  }

  repo(owner: string, name: string): RepoRecord {
    const repo = this.repos.get(repoKey(owner, name));
    if (!repo) throw notFound();
    return repo;
  }

  gitName(repo: RepoRecord): string {
    return GitBacking.repoName(repo.owner, repo.name);
  }

  addHook(owner: string, name: string, hook: Hook): void {
    const key = repoKey(owner, name);
    this.hooks.set(key, [...(this.hooks.get(key) ?? []), hook]);
  }

  /** Queues a delivery of `event` to every hook of the repo that subscribes to it. */
  emit(repo: RepoRecord, event: string, payload: () => Record<string, unknown>): void {
    const hooks = (this.hooks.get(repoKey(repo.owner, repo.name)) ?? []).filter(
      (hook) => hook.events === "*" || hook.events.includes(event),
    );
    if (hooks.length === 0) return; // payloads are built only when someone listens
    const body = {
      ...payload(),
      repository: this.render.repo(repo),
      sender: this.render.user(this.user("octocat")),
    };
    for (const hook of hooks) this.webhooks.enqueue(newDelivery(hook, event, body));
  }

  // ------------------------------------------------------------------ issues

  issue(repo: RepoRecord, number: number): IssueRecord {
    const issue = repo.issues.get(number);
    if (!issue) throw notFound();
    return issue;
  }

  createIssue(
    repo: RepoRecord,
    input: {
      title: string;
      body?: string | null;
      labels?: string[];
      author?: string;
      state?: "open" | "closed";
    },
  ): IssueRecord {
    const at = this.now().toISOString();
    const issue: IssueRecord = {
      number: repo.nextNumber++,
      title: input.title,
      body: input.body ?? null,
      state: input.state ?? "open",
      stateReason: input.state === "closed" ? "completed" : null,
      labels: [...(input.labels ?? [])],
      author: this.user(input.author ?? "octocat"),
      assignee: null,
      createdAt: at,
      updatedAt: at,
      closedAt: input.state === "closed" ? at : null,
      pull: null,
    };
    for (const label of issue.labels) repo.labels.add(label);
    repo.issues.set(issue.number, issue);
    this.emit(repo, "issues", () => ({ action: "opened", issue: this.render.issue(repo, issue) }));
    return issue;
  }

  updateIssue(
    repo: RepoRecord,
    issue: IssueRecord,
    changes: {
      title?: string;
      body?: string | null;
      state?: "open" | "closed";
      stateReason?: IssueRecord["stateReason"];
    },
  ): void {
    const wasState = issue.state;
    if (changes.title !== undefined) issue.title = changes.title;
    if (changes.body !== undefined) issue.body = changes.body;
    if (changes.state !== undefined && changes.state !== issue.state) {
      issue.state = changes.state;
      issue.closedAt = changes.state === "closed" ? this.now().toISOString() : null;
      issue.stateReason = changes.state === "closed" ? (changes.stateReason ?? "completed") : "reopened";
      if (issue.pull && changes.state === "closed") issue.pull.frozenHeadSha = this.liveHeadSha(repo, issue);
      if (issue.pull && changes.state === "open") issue.pull.frozenHeadSha = null;
    }
    this.touch(issue);
    if (wasState === issue.state) return;
    const action = issue.state === "closed" ? "closed" : "reopened";
    if (issue.pull) this.emitPull(repo, issue, action);
    else this.emit(repo, "issues", () => ({ action, issue: this.render.issue(repo, issue) }));
  }

  addLabels(repo: RepoRecord, issue: IssueRecord, labels: string[]): void {
    for (const label of labels) {
      repo.labels.add(label);
      if (issue.labels.includes(label)) continue;
      issue.labels.push(label);
      this.touch(issue);
      this.emit(repo, "issues", () => ({
        action: "labeled",
        label: { name: label },
        issue: this.render.issue(repo, issue),
      }));
    }
  }

  comments(repo: RepoRecord, number: number): CommentRecord[] {
    return repo.comments.get(number) ?? [];
  }

  addComment(repo: RepoRecord, issue: IssueRecord, body: string, author = "octocat"): CommentRecord {
    const at = this.now().toISOString();
    const comment: CommentRecord = {
      id: this.ids.next(),
      body,
      author: this.user(author),
      createdAt: at,
      updatedAt: at,
    };
    repo.comments.set(issue.number, [...this.comments(repo, issue.number), comment]);
    this.touch(issue);
    this.emit(repo, "issue_comment", () => ({
      action: "created",
      issue: this.render.issue(repo, issue),
      comment: this.render.comment(repo, issue.number, comment),
    }));
    return comment;
  }

  // ------------------------------------------------------------------ pull requests

  pulls(repo: RepoRecord): IssueRecord[] {
    return [...repo.issues.values()].filter((issue) => issue.pull !== null);
  }

  pull(repo: RepoRecord, number: number): IssueRecord {
    const issue = this.issue(repo, number);
    if (!issue.pull) throw notFound();
    return issue;
  }

  liveHeadSha(repo: RepoRecord, issue: IssueRecord): string {
    const pull = issue.pull!;
    return pull.frozenHeadSha ?? this.git.branchSha(this.gitName(repo), pull.head) ?? "0".repeat(40);
  }

  pullJson(repo: RepoRecord, issue: IssueRecord) {
    const name = this.gitName(repo);
    const headSha = this.liveHeadSha(repo, issue);
    const baseSha = this.git.branchSha(name, issue.pull!.base) ?? "0".repeat(40);
    const mergeable = issue.state === "open" ? this.git.mergedTree(name, baseSha, headSha) !== null : null;
    return this.render.pull(repo, issue, { headSha, baseSha, mergeable });
  }

  createPull(
    repo: RepoRecord,
    input: {
      title: string;
      head: string;
      base: string;
      body?: string | null;
      draft?: boolean;
      author?: string;
    },
  ): IssueRecord {
    const name = this.gitName(repo);
    const head = input.head.includes(":") ? input.head.split(":").slice(1).join(":") : input.head;
    const headSha = this.git.branchSha(name, head);
    const baseSha = this.git.branchSha(name, input.base);
    if (!headSha)
      throw unprocessable("Validation Failed", [{ resource: "PullRequest", field: "head", code: "invalid" }]);
    if (!baseSha)
      throw unprocessable("Validation Failed", [{ resource: "PullRequest", field: "base", code: "invalid" }]);
    const open = this.pulls(repo).find(
      (pr) => pr.state === "open" && pr.pull!.head === head && pr.pull!.base === input.base,
    );
    if (open) {
      throw unprocessable("Validation Failed", [
        {
          resource: "PullRequest",
          code: "custom",
          message: `A pull request already exists for ${repo.owner}:${head}.`,
        },
      ]);
    }
    if (this.git.aheadBy(name, baseSha, headSha) === 0) {
      throw unprocessable("Validation Failed", [
        { resource: "PullRequest", code: "custom", message: `No commits between ${input.base} and ${head}` },
      ]);
    }
    const at = this.now().toISOString();
    const issue: IssueRecord = {
      number: repo.nextNumber++,
      title: input.title,
      body: input.body ?? null,
      state: "open",
      stateReason: null,
      labels: [],
      author: this.user(input.author ?? "octocat"),
      assignee: null,
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      pull: {
        head,
        frozenHeadSha: null,
        base: input.base,
        draft: input.draft ?? false,
        merged: false,
        mergedAt: null,
        mergeCommitSha: null,
        mergedBy: null,
      },
    };
    repo.issues.set(issue.number, issue);
    this.emitPull(repo, issue, "opened");
    return issue;
  }

  mergePull(
    repo: RepoRecord,
    issue: IssueRecord,
    input: { method: MergeMethod; sha?: string; by: string; title?: string },
  ) {
    const pull = issue.pull!;
    if (issue.state !== "open" || pull.merged) throw new HttpError(405, "Pull Request is not mergeable");
    const headSha = this.liveHeadSha(repo, issue);
    if (input.sha && input.sha !== headSha) {
      throw new HttpError(409, "Head branch was modified. Review and try the merge again.");
    }
    const name = this.gitName(repo);
    const baseSha = this.git.branchSha(name, pull.base);
    const message = input.title ?? `${issue.title} (#${issue.number})`;
    const sha = baseSha
      ? this.git.merge(
          name,
          { base: pull.base, baseSha, headSha, method: input.method, message },
          {
            name: input.by,
            email: `${input.by}@users.noreply.github.test`,
          },
        )
      : null;
    if (!sha) throw new HttpError(405, "Pull Request is not mergeable");
    const at = this.now().toISOString();
    Object.assign(pull, {
      merged: true,
      mergedAt: at,
      mergeCommitSha: sha,
      mergedBy: this.user(input.by),
      frozenHeadSha: headSha,
    });
    Object.assign(issue, { state: "closed", closedAt: at, updatedAt: at });
    this.emitPull(repo, issue, "closed");
    return { sha, merged: true, message: "Pull Request successfully merged" };
  }

  emitPull(repo: RepoRecord, issue: IssueRecord, action: string): void {
    this.emit(repo, "pull_request", () => ({
      action,
      number: issue.number,
      pull_request: this.pullJson(repo, issue),
    }));
  }

  reviews(repo: RepoRecord, number: number): ReviewRecord[] {
    return repo.reviews.get(number) ?? [];
  }

  addReview(
    repo: RepoRecord,
    issue: IssueRecord,
    input: { event: "APPROVE" | "REQUEST_CHANGES" | "COMMENT"; body?: string; author?: string },
  ): ReviewRecord {
    const state = { APPROVE: "APPROVED", REQUEST_CHANGES: "CHANGES_REQUESTED", COMMENT: "COMMENTED" }[
      input.event
    ] as ReviewRecord["state"];
    if (input.event !== "APPROVE" && !input.body) {
      throw unprocessable("Unprocessable Entity", [
        { resource: "PullRequestReview", field: "body", code: "missing_field" },
      ]);
    }
    const review: ReviewRecord = {
      id: this.ids.next(),
      state,
      body: input.body ?? "",
      commitId: this.liveHeadSha(repo, issue),
      author: this.user(input.author ?? "reviewer"),
      submittedAt: this.now().toISOString(),
    };
    repo.reviews.set(issue.number, [...this.reviews(repo, issue.number), review]);
    this.touch(issue);
    this.emit(repo, "pull_request_review", () => ({
      action: "submitted",
      review: this.render.review(repo, issue.number, review),
      pull_request: this.pullJson(repo, issue),
    }));
    return review;
  }

  // ------------------------------------------------------------------ checks and statuses

  /** A branch name or sha → sha (GitHub's `:ref` accepts both). */
  resolveRef(repo: RepoRecord, ref: string): string {
    if (/^[0-9a-f]{40}$/.test(ref)) return ref;
    const sha = this.git.branchSha(this.gitName(repo), ref.replace(/^heads\//, ""));
    if (!sha) throw unprocessable(`No commit found for SHA: ${ref}`);
    return sha;
  }

  private openPullsAt(repo: RepoRecord, sha: string) {
    return this.pulls(repo)
      .filter((issue) => issue.state === "open" && this.liveHeadSha(repo, issue) === sha)
      .map((issue) => ({ number: issue.number, head: issue.pull!.head, base: issue.pull!.base }));
  }

  checkRunsAt(repo: RepoRecord, sha: string): CheckRunRecord[] {
    return repo.checkRuns.get(sha) ?? [];
  }

  checkRunJson(repo: RepoRecord, sha: string, run: CheckRunRecord) {
    return this.render.checkRun(sha, run, this.openPullsAt(repo, sha));
  }

  /** Creates or replaces (by name) a check run on `sha`. */
  setCheckRun(
    repo: RepoRecord,
    sha: string,
    input: {
      name: string;
      status?: CheckRunRecord["status"];
      conclusion?: CheckRunRecord["conclusion"];
      summary?: string;
      title?: string;
      detailsUrl?: string;
    },
  ): CheckRunRecord {
    const at = this.now().toISOString();
    const runs = this.checkRunsAt(repo, sha).filter((run) => run.name !== input.name);
    const status = input.status ?? (input.conclusion ? "completed" : "queued");
    const run: CheckRunRecord = {
      id: this.ids.next(),
      name: input.name,
      status,
      conclusion: status === "completed" ? (input.conclusion ?? "success") : null,
      title: input.title ?? null,
      summary: input.summary ?? null,
      detailsUrl: input.detailsUrl ?? null,
      startedAt: at,
      completedAt: status === "completed" ? at : null,
    };
    repo.checkRuns.set(sha, [...runs, run]);
    this.emit(repo, "check_run", () => ({
      action: status === "completed" ? "completed" : "created",
      check_run: this.checkRunJson(repo, sha, run),
    }));
    return run;
  }

  statusesAt(repo: RepoRecord, sha: string): StatusRecord[] {
    return repo.statuses.get(sha) ?? [];
  }

  addStatus(
    repo: RepoRecord,
    sha: string,
    input: {
      context?: string;
      state: StatusRecord["state"];
      description?: string | null;
      targetUrl?: string | null;
    },
  ): StatusRecord {
    const at = this.now().toISOString();
    const status: StatusRecord = {
      id: this.ids.next(),
      context: input.context ?? "default",
      state: input.state,
      description: input.description ?? null,
      targetUrl: input.targetUrl ?? null,
      createdAt: at,
      updatedAt: at,
    };
    // Newest first, like GitHub's list.
    repo.statuses.set(sha, [status, ...this.statusesAt(repo, sha)]);
    this.emit(repo, "status", () => ({
      sha,
      state: status.state,
      context: status.context,
      description: status.description,
      target_url: status.targetUrl,
      branches: [],
    }));
    return status;
  }

  private touch(issue: IssueRecord): void {
    issue.updatedAt = this.now().toISOString();
  }
}
