// GitPlatform on GitHub's REST API through Octokit (throttled, retried, ETag-conditional for the
// PR watcher).
import type {
  GitPlatform,
  MergeMethod,
  PlatformComment,
  PlatformIssue,
  PlatformPull,
  PlatformRepo,
  PrObservation,
  RepoCoords,
  ReviewEvent,
} from "../git-platform";
import { PlatformError } from "../git-platform";
import { ConditionalCache, conditionalGet } from "./conditional-cache";
import {
  toIssue,
  toPlatformError,
  toPull,
  toSnapshot,
  type GhCheckRun,
  type GhIssue,
  type GhPull,
  type GhReview,
  type GhStatus,
} from "./github-mapping";
import type { GitHubOctokit } from "./octokit-client";

const PAGE = 100;
/** Issue listing reads at most this many pages (PRs are mixed in and filtered out). */
const MAX_ISSUE_PAGES = 10;

const REVIEW_EVENTS = { approve: "APPROVE", request_changes: "REQUEST_CHANGES", comment: "COMMENT" } as const;

export class GitHubPlatform implements GitPlatform {
  readonly kind = "github" as const;
  private readonly cache: ConditionalCache;

  constructor(
    private readonly octokit: GitHubOctokit,
    options: { cacheEntries?: number } = {},
  ) {
    this.cache = new ConditionalCache(options.cacheEntries);
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toPlatformError(error, what);
    }
  }

  getRepo(repo: RepoCoords): Promise<PlatformRepo> {
    return this.call(`repository ${repo.owner}/${repo.name}`, async () => {
      const { data } = await this.octokit.rest.repos.get({ owner: repo.owner, repo: repo.name });
      return {
        owner: data.owner.login,
        name: data.name,
        fullName: data.full_name,
        defaultBranch: data.default_branch,
        private: data.private,
        webUrl: data.html_url,
      };
    });
  }

  listIssues(
    repo: RepoCoords,
    query: { state: "open" | "closed" | "all"; limit: number; offset: number; label?: string },
  ): Promise<{ issues: PlatformIssue[]; hasMore: boolean }> {
    return this.call(`issues of ${repo.owner}/${repo.name}`, async () => {
      const wanted = query.offset + query.limit;
      const found: PlatformIssue[] = [];
      let exhausted = false;
      for (let page = 1; page <= MAX_ISSUE_PAGES && found.length <= wanted; page++) {
        const { data } = await this.octokit.rest.issues.listForRepo({
          owner: repo.owner,
          repo: repo.name,
          state: query.state,
          ...(query.label !== undefined && { labels: query.label }),
          sort: "updated",
          direction: "desc",
          per_page: PAGE,
          page,
        });
        for (const issue of data as GhIssue[]) if (!issue.pull_request) found.push(toIssue(issue));
        if (data.length < PAGE) {
          exhausted = true;
          break;
        }
      }
      return {
        issues: found.slice(query.offset, wanted),
        hasMore: found.length > wanted || !exhausted,
      };
    });
  }

  getIssue(repo: RepoCoords, number: number): Promise<PlatformIssue> {
    const what = `issue #${number} of ${repo.owner}/${repo.name}`;
    return this.call(what, async () => {
      const { data } = await this.octokit.rest.issues.get({
        owner: repo.owner,
        repo: repo.name,
        issue_number: number,
      });
      if ((data as GhIssue).pull_request)
        throw new PlatformError("not_found", `Not found on GitHub: ${what}`, 404);
      return toIssue(data as GhIssue);
    });
  }

  listIssueComments(repo: RepoCoords, number: number): Promise<PlatformComment[]> {
    return this.call(`comments of #${number}`, async () => {
      const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
        owner: repo.owner,
        repo: repo.name,
        issue_number: number,
        per_page: PAGE,
      });
      return comments.map((comment) => ({
        id: String(comment.id),
        author: comment.user?.login ?? null,
        body: comment.body ?? "",
        createdAt: comment.created_at,
      }));
    });
  }

  addLabels(repo: RepoCoords, number: number, labels: string[]): Promise<void> {
    return this.call(`labels on #${number}`, async () => {
      await this.octokit.rest.issues.addLabels({
        owner: repo.owner,
        repo: repo.name,
        issue_number: number,
        labels,
      });
    });
  }

  createComment(repo: RepoCoords, number: number, body: string): Promise<{ id: string; url: string }> {
    return this.call(`comment on #${number}`, async () => {
      const { data } = await this.octokit.rest.issues.createComment({
        owner: repo.owner,
        repo: repo.name,
        issue_number: number,
        body,
      });
      return { id: String(data.id), url: data.html_url };
    });
  }

  closeIssue(repo: RepoCoords, number: number): Promise<void> {
    return this.call(`closing #${number}`, async () => {
      await this.octokit.rest.issues.update({
        owner: repo.owner,
        repo: repo.name,
        issue_number: number,
        state: "closed",
        state_reason: "completed",
      });
    });
  }

  findOpenPull(repo: RepoCoords, head: string): Promise<PlatformPull | null> {
    return this.call(`pull requests from ${head}`, async () => {
      const { data } = await this.octokit.rest.pulls.list({
        owner: repo.owner,
        repo: repo.name,
        state: "open",
        head: `${repo.owner}:${head}`,
        per_page: 1,
      });
      const pull = data[0];
      return pull ? toPull(pull as GhPull) : null;
    });
  }

  createPull(
    repo: RepoCoords,
    input: { head: string; base: string; title: string; body: string; draft: boolean },
  ): Promise<PlatformPull> {
    return this.call(`opening a pull request from ${input.head}`, async () => {
      const { data } = await this.octokit.rest.pulls.create({ owner: repo.owner, repo: repo.name, ...input });
      return toPull(data as GhPull);
    });
  }

  getPull(repo: RepoCoords, number: number): Promise<PlatformPull> {
    return this.call(`pull request #${number}`, async () => {
      const { data } = await this.octokit.rest.pulls.get({
        owner: repo.owner,
        repo: repo.name,
        pull_number: number,
      });
      return toPull(data as GhPull);
    });
  }

  closePull(repo: RepoCoords, number: number): Promise<void> {
    return this.call(`closing pull request #${number}`, async () => {
      await this.octokit.rest.pulls.update({
        owner: repo.owner,
        repo: repo.name,
        pull_number: number,
        state: "closed",
      });
    });
  }

  mergePull(
    repo: RepoCoords,
    number: number,
    input: { method: MergeMethod; sha?: string },
  ): Promise<{ sha: string }> {
    return this.call(`merging pull request #${number}`, async () => {
      const { data } = await this.octokit.rest.pulls.merge({
        owner: repo.owner,
        repo: repo.name,
        pull_number: number,
        merge_method: input.method,
        ...(input.sha ? { sha: input.sha } : {}),
      });
      return { sha: data.sha };
    });
  }

  createReview(repo: RepoCoords, number: number, input: { event: ReviewEvent; body: string }): Promise<void> {
    return this.call(`reviewing pull request #${number}`, async () => {
      await this.octokit.rest.pulls.createReview({
        owner: repo.owner,
        repo: repo.name,
        pull_number: number,
        event: REVIEW_EVENTS[input.event],
        body: input.body,
      });
    });
  }

  observePull(repo: RepoCoords, number: number): Promise<PrObservation> {
    return this.call(`pull request #${number} of ${repo.owner}/${repo.name}`, async () => {
      const coords = { owner: repo.owner, repo: repo.name };
      const get = <T>(route: string, params: Record<string, string | number>) =>
        conditionalGet<T>(this.octokit, this.cache, route, { ...coords, ...params });
      const pull = await get<GhPull>("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
        pull_number: number,
      });
      const ref = pull.data.head.sha;
      const [runs, status, reviews] = await Promise.all([
        this.pages<{ total_count: number; check_runs: GhCheckRun[] }, GhCheckRun>(
          (page) => get("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", { ref, per_page: PAGE, page }),
          (data) => data.check_runs,
          (data) => data.total_count,
        ),
        get<{ statuses: GhStatus[] }>("GET /repos/{owner}/{repo}/commits/{ref}/status", {
          ref,
          per_page: PAGE,
        }),
        this.pages<GhReview[], GhReview>(
          (page) =>
            get("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", {
              pull_number: number,
              per_page: PAGE,
              page,
            }),
          (data) => data,
          null,
        ),
      ]);
      return {
        snapshot: toSnapshot(pull.data, runs.items, status.data.statuses, reviews.items),
        changed: pull.changed || runs.changed || status.changed || reviews.changed,
      };
    });
  }

  /** Reads pages (each conditionally) until a short page or `total` items. */
  private async pages<D, T>(
    fetchPage: (page: number) => Promise<{ data: D; changed: boolean }>,
    itemsOf: (data: D) => T[],
    totalOf: ((data: D) => number) | null,
  ): Promise<{ items: T[]; changed: boolean }> {
    const items: T[] = [];
    let changed = false;
    for (let page = 1; ; page++) {
      const result = await fetchPage(page);
      const pageItems = itemsOf(result.data);
      changed ||= result.changed;
      items.push(...pageItems);
      const total = totalOf?.(result.data);
      if (pageItems.length < PAGE || (total !== undefined && items.length >= total)) break;
    }
    return { items, changed };
  }
}
