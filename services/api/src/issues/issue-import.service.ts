// Issues labelled `optio` on repos with `autoImportIssues` become tasks on their own: at once from a
// webhook `issues.labeled`, and by a periodic sync for what webhooks missed. Only issues that never
// had a task are imported (a cancelled or finished task is not started again behind the user's
// back; assigning the issue runs it again). Both go through IssueService.assign, whose live-issue
// index makes a second task impossible when the webhook, a redelivery, the sync of this replica
// and that of another race.
import type { Logger } from "pino";
import type { PrismaClient } from "../db/prisma";
import type { Repo as RepoRow } from "../generated/prisma/client";
import type { GitPlatforms } from "../platform/platform-registry";
import type { IssueService } from "./issue.service";
import { PassLoop } from "../background/pass-loop";
import { OPTIO_LABEL } from "./issue-prompt";

/** Labelled issues read per repo and sync; more wait for the next sync. */
const SYNC_BATCH = 100;

export class IssueImporter {
  private readonly prisma: PrismaClient;
  private readonly platforms: GitPlatforms;
  private readonly issues: IssueService;
  private readonly logger: Logger;
  private readonly syncMs: number;
  private readonly periodic: PassLoop;

  constructor(options: {
    prisma: PrismaClient;
    platforms: GitPlatforms;
    issues: IssueService;
    logger: Logger;
    /** How often the sync runs; 0: never (webhooks only). */
    syncMs: number;
  }) {
    this.prisma = options.prisma;
    this.platforms = options.platforms;
    this.issues = options.issues;
    this.logger = options.logger;
    this.syncMs = options.syncMs;
    this.periodic = new PassLoop({
      intervalMs: options.syncMs,
      pass: () => this.sync(),
      logger: options.logger,
      name: "issue sync",
    });
  }

  /** A webhook said an issue was labelled: imports it when the label and the repo say so. */
  async onLabeled(subject: { repoUrl: string; issueNumber: number; label: string }): Promise<void> {
    if (subject.label !== OPTIO_LABEL) return;
    const repo = await this.prisma.repo.findUnique({ where: { repoUrl: subject.repoUrl } });
    if (!repo?.autoImportIssues) return;
    await this.importNew(repo, [subject.issueNumber]);
  }

  /** One pass over every repo with the setting on; a failing repo is logged and skipped. */
  async sync(): Promise<{ imported: number }> {
    const repos = await this.prisma.repo.findMany({
      where: { autoImportIssues: true },
      orderBy: { createdAt: "asc" },
    });
    let imported = 0;
    for (const repo of repos) {
      try {
        const located = await this.platforms.forRepo({ id: repo.id, repoUrl: repo.repoUrl });
        if (!located) continue;
        const { issues } = await located.platform.listIssues(located.coords, {
          state: "open",
          label: OPTIO_LABEL,
          limit: SYNC_BATCH,
          offset: 0,
        });
        imported += await this.importNew(
          repo,
          issues.map((issue) => issue.number),
        );
      } catch (err) {
        this.logger.warn({ err, repoId: repo.id }, "labelled issues not synced; retried next sync");
      }
    }
    return { imported };
  }

  /** Imports those of `numbers` that never had a task; answers how many tasks it created. */
  private async importNew(repo: RepoRow, numbers: number[]): Promise<number> {
    const known = await this.issues.tasksOf(numbers.map((number) => ({ repoUrl: repo.repoUrl, number })));
    let created = 0;
    for (const number of numbers) {
      if (known.has(`${repo.repoUrl}#${number}`)) continue;
      try {
        const result = await this.issues.assign({ repoId: repo.id, issueNumber: number }, null);
        if (!result.created) continue;
        created++;
        this.logger.info({ repoId: repo.id, issue: number, taskId: result.task.id }, "issue imported");
      } catch (err) {
        this.logger.warn({ err, repoId: repo.id, issue: number }, "labelled issue not imported");
      }
    }
    return created;
  }

  /** Starts the periodic sync (unless its interval is 0). */
  start(): void {
    if (this.syncMs > 0) this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
