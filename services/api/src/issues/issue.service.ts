// Issues of connected repositories on a platform: listed with the task each became, and assigned
// (turned into a task; never two live tasks for one issue: a unique index decides under races).
import type { Logger } from "pino";
import type { AgentType, Issue, IssuesQuery, TaskState } from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { AppError, notFound } from "../errors";
import type { Repo as RepoRow, Run, Task as TaskRow } from "../generated/prisma/client";
import { isPlatformError, type PlatformIssue } from "../platform/git-platform";
import { platformFailure } from "../platform/platform-errors";
import type { GitPlatforms } from "../platform/platform-registry";
import type { SideEffectStore } from "../side-effects/side-effect.store";
import type { TaskService } from "../tasks/task.service";
import { assignedComment, issuePrompt, issueTaskTitle, OPTIO_LABEL } from "./issue-prompt";

type TaskWithRuns = TaskRow & { runs?: Run[] };
type Failure = { repoId: string; fullName: string; code: string; error: string };

const LIVE_ISSUE_INDEX = "tasks_live_issue_idx";

function isLiveIssueConflict(error: unknown): boolean {
  const text = `${(error as { message?: string })?.message ?? ""} ${JSON.stringify((error as { meta?: unknown })?.meta ?? "")}`;
  return text.includes(LIVE_ISSUE_INDEX) || /23505|unique constraint/i.test(text);
}

export class IssueService {
  constructor(
    private readonly options: {
      prisma: PrismaClient;
      platforms: GitPlatforms;
      tasks: TaskService;
      effects: SideEffectStore;
      /** Wakes the side-effect worker. */
      pokeEffects: () => void;
      logger: Logger;
    },
  ) {}

  async list(query: IssuesQuery): Promise<{ issues: Issue[]; hasMore: boolean; failedRepos: Failure[] }> {
    const { prisma, platforms } = this.options;
    const repos = query.repoId
      ? await prisma.repo.findMany({ where: { id: query.repoId } })
      : await prisma.repo.findMany({ orderBy: { createdAt: "asc" } });
    if (query.repoId && repos.length === 0) throw notFound("REPO_NOT_FOUND", "Repo not found");
    const onPlatform = repos.filter((repo) => platforms.locate(repo.repoUrl));
    const failedRepos: Failure[] = [];
    if (query.repoId && onPlatform.length === 0) {
      const [repo] = repos;
      const error = `${repo!.fullName} is on a plain git host: it has no issues`;
      failedRepos.push({
        repoId: repo!.id,
        fullName: repo!.fullName,
        code: "PLATFORM_NOT_CONFIGURED",
        error,
      });
    }
    let hasMore = false;
    const found: Array<{ repo: RepoRow; issue: PlatformIssue }> = [];
    await Promise.all(
      onPlatform.map(async (repo) => {
        try {
          const located = (await platforms.forRepo({ id: repo.id, repoUrl: repo.repoUrl }))!;
          const page = await located.platform.listIssues(located.coords, {
            state: query.state,
            limit: query.offset + query.limit,
            offset: 0,
          });
          hasMore ||= page.hasMore;
          for (const issue of page.issues) found.push({ repo, issue });
        } catch (error) {
          const failure = platformFailure(error, "query.repoId");
          if (!(failure instanceof AppError)) throw error;
          failedRepos.push({
            repoId: repo.id,
            fullName: repo.fullName,
            code: failure.code,
            error: failure.message,
          });
        }
      }),
    );
    const tasks = await this.tasksOf(
      found.map(({ repo, issue }) => ({ repoUrl: repo.repoUrl, number: issue.number })),
    );
    const issues = found.map(({ repo, issue }) =>
      toIssueView(repo, issue, tasks.get(`${repo.repoUrl}#${issue.number}`) ?? null),
    );
    issues.sort(
      (a, b) =>
        Number(a.optioTask !== null) - Number(b.optioTask !== null) || b.updatedAt.localeCompare(a.updatedAt),
    );
    hasMore ||= issues.length > query.offset + query.limit;
    return { issues: issues.slice(query.offset, query.offset + query.limit), hasMore, failedRepos };
  }

  /** The newest task (any state) of each (repo, issue number), keyed `<repoUrl>#<number>`. */
  async tasksOf(keys: Array<{ repoUrl: string; number: number }>) {
    const byKey = new Map<string, { taskId: string; state: TaskState }>();
    if (keys.length === 0) return byKey;
    const rows = await this.options.prisma.$queryRaw<
      Array<{ id: string; state: TaskState; repo_url: string; n: string }>
    >`
      SELECT DISTINCT ON (repo_url, metadata->>'issueNumber') id, state, repo_url, metadata->>'issueNumber' AS n
        FROM tasks
       WHERE metadata ? 'issueNumber' AND repo_url = ANY(${[...new Set(keys.map((key) => key.repoUrl))]}::text[])
       ORDER BY repo_url, metadata->>'issueNumber', created_at DESC`;
    for (const row of rows) byKey.set(`${row.repo_url}#${row.n}`, { taskId: row.id, state: row.state });
    return byKey;
  }

  /**
   * The live task of an issue: the existing one (created: false) or a new one. `userId` null: an
   * import (a labelled issue), created by Optio itself. The one path for both, so the live-issue
   * index decides every race between a user, a webhook and the periodic sync.
   */
  async assign(
    input: { repoId: string; issueNumber: number; agentType?: AgentType },
    userId: string | null,
  ): Promise<{ task: TaskWithRuns; created: boolean }> {
    const { prisma, platforms } = this.options;
    const repo = await prisma.repo.findUnique({ where: { id: input.repoId } });
    if (!repo) throw notFound("REPO_NOT_FOUND", "Repo not found");
    const existing = await this.liveTask(repo.repoUrl, input.issueNumber);
    if (existing) return { task: existing, created: false };

    let located;
    let issue: PlatformIssue;
    let comments;
    try {
      located = await platforms.forRepo({ id: repo.id, repoUrl: repo.repoUrl });
      if (!located) {
        throw new AppError(422, "PLATFORM_NOT_CONFIGURED", `${repo.fullName} is not on a git platform`, [
          { path: "body.repoId", reason: "the repository is on a plain git host" },
        ]);
      }
      issue = await located.platform.getIssue(located.coords, input.issueNumber);
      comments = await located.platform.listIssueComments(located.coords, input.issueNumber);
    } catch (error) {
      if (isPlatformError(error, "not_found")) {
        throw new AppError(
          404,
          "ISSUE_NOT_FOUND",
          `Issue #${input.issueNumber} not found in ${repo.fullName}`,
          [{ path: "body.issueNumber", reason: "no such issue (pull requests are not issues)" }],
        );
      }
      throw platformFailure(error, "body.repoId");
    }

    let task: TaskWithRuns;
    try {
      ({ task } = await this.options.tasks.create(
        {
          title: issueTaskTitle(issue),
          prompt: issuePrompt(issue, comments),
          repoUrl: repo.repoUrl,
          repoBranch: undefined,
          agentType: input.agentType,
          model: undefined,
          priority: undefined,
          maxAttempts: undefined,
          maxCostUsd: undefined,
          maxTurns: undefined,
          metadata: { issueNumber: issue.number, issueUrl: issue.url, issueSource: "github" },
          requiredLabels: [],
          dependsOn: [],
        },
        userId,
      ));
    } catch (error) {
      // Someone assigned the same issue at the same moment: theirs is the task.
      const winner = isLiveIssueConflict(error) ? await this.liveTask(repo.repoUrl, input.issueNumber) : null;
      if (winner) return { task: winner, created: false };
      throw error;
    }
    const effectInput = { issueNumber: issue.number };
    // An issue labelled already (an imported one) is not labelled again.
    if (!issue.labels.includes(OPTIO_LABEL)) {
      await this.options.effects.want(prisma, {
        taskId: task.id,
        purpose: `issue_label:${OPTIO_LABEL}`,
        input: effectInput,
      });
    }
    await this.options.effects.want(prisma, {
      taskId: task.id,
      purpose: "issue_comment:assigned",
      input: { ...effectInput, body: assignedComment(task.id, task.agentType) },
    });
    this.options.pokeEffects();
    return { task, created: true };
  }

  private async liveTask(repoUrl: string, issueNumber: number): Promise<TaskWithRuns | null> {
    const rows = await this.options.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM tasks
       WHERE repo_url = ${repoUrl} AND metadata ? 'issueNumber' AND metadata->>'issueNumber' = ${String(issueNumber)}
         AND state NOT IN ('completed', 'cancelled')
       LIMIT 1`;
    if (!rows[0]) return null;
    return this.options.prisma.task.findUnique({
      where: { id: rows[0].id },
      include: { runs: { orderBy: { attempt: "desc" }, take: 1 } },
    });
  }
}

function toIssueView(
  repo: RepoRow,
  issue: PlatformIssue,
  task: { taskId: string; state: TaskState } | null,
): Issue {
  return {
    id: `${repo.id}#${issue.number}`,
    number: issue.number,
    externalId: issue.externalId,
    source: "github",
    title: issue.title,
    body: issue.body,
    state: issue.state,
    url: issue.url,
    labels: issue.labels,
    hasOptioLabel: issue.labels.includes(OPTIO_LABEL),
    author: issue.author,
    assignee: issue.assignee,
    repo: { id: repo.id, fullName: repo.fullName, repoUrl: repo.repoUrl },
    createdAt: issue.createdAt,
    updatedAt: issue.updatedAt,
    optioTask: task,
  };
}
