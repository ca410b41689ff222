import type { z } from "zod";
import type {
  CreateRepoBody,
  Repo,
  RepoCreatedEvent,
  RepoDeletedEvent,
  RepoUpdatedEvent,
  UpdateRepoBody,
} from "@optio/contracts";
import type { PrismaClient, Tx } from "../db/prisma";
import { conflict, notFound } from "../errors";
import type { Outbox } from "../events/outbox";
import type { Repo as RepoRow } from "../generated/prisma/client";
import type { GitPlatforms } from "../platform/platform-registry";
import { isPlatformError } from "../platform/git-platform";
import { platformFailure } from "../platform/platform-errors";
import type { RepoUrlPolicy } from "./repo-url";

export function toRepoView(row: RepoRow): Repo {
  return {
    id: row.id,
    repoUrl: row.repoUrl,
    fullName: row.fullName,
    defaultBranch: row.defaultBranch,
    defaultAgentType: row.defaultAgentType as Repo["defaultAgentType"],
    maxConcurrentTasks: row.maxConcurrentTasks,
    maxAttempts: row.maxAttempts,
    runTimeoutSeconds: row.runTimeoutSeconds,
    image: row.image,
    autoMerge: row.autoMerge,
    reviewEnabled: row.reviewEnabled,
    autoResume: row.autoResume,
    requiredLabels: row.requiredLabels ?? [],
    maxAutoResumes: row.maxAutoResumes,
    reviewTrigger: row.reviewTrigger as Repo["reviewTrigger"],
    mergeMethod: row.mergeMethod as Repo["mergeMethod"],
    cautiousMode: row.cautiousMode,
    requireApproval: row.requireApproval,
    autoImportIssues: row.autoImportIssues,
    maxCostUsd: row.maxCostUsd,
    maxTurns: row.maxTurns,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "P2002";
}

const repoExists = (repoUrl: string) => conflict("REPO_EXISTS", `Repository ${repoUrl} is already connected`);

/** Connected repositories and their settings; every change is announced through the outbox. */
export class RepoService {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;
  private readonly urlPolicy: RepoUrlPolicy;
  private readonly defaultImage: string;
  private readonly platforms: GitPlatforms;

  constructor(options: {
    prisma: PrismaClient;
    outbox: Outbox;
    urlPolicy: RepoUrlPolicy;
    platforms: GitPlatforms;
    defaultImage: string;
  }) {
    this.prisma = options.prisma;
    this.outbox = options.outbox;
    this.urlPolicy = options.urlPolicy;
    this.platforms = options.platforms;
    this.defaultImage = options.defaultImage;
  }

  async list(page: { limit: number; offset: number }): Promise<{ repos: Repo[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.prisma.repo.findMany({ orderBy: { createdAt: "asc" }, take: page.limit, skip: page.offset }),
      this.prisma.repo.count(),
    ]);
    return { repos: rows.map(toRepoView), total };
  }

  async get(id: string): Promise<Repo> {
    const row = await this.prisma.repo.findUnique({ where: { id } });
    if (!row) throw notFound("REPO_NOT_FOUND", "Repo not found");
    return toRepoView(row);
  }

  /** The connected repo for a normalised URL, if any (tasks apply its settings). */
  async findByUrl(repoUrl: string, tx: Tx | PrismaClient = this.prisma): Promise<Repo | null> {
    const row = await tx.repo.findUnique({ where: { repoUrl } });
    return row ? toRepoView(row) : null;
  }

  async create(input: CreateRepoBody, actorId: string): Promise<Repo> {
    const checked = await this.urlPolicy.check(input.repoUrl);
    const { repoUrl } = checked;
    const { repoUrl: _raw, ...settings } = input;
    // On a platform, its owner/name spelling and default branch win over what the client guessed.
    const found = await this.fromPlatform(repoUrl);
    const fullName = found?.fullName ?? checked.fullName;
    if (found && input.defaultBranch === undefined) settings.defaultBranch = found.defaultBranch;
    try {
      return await this.outbox.transaction(async (tx) => {
        const row = await tx.repo.create({
          data: { image: this.defaultImage, ...settings, repoUrl, fullName, createdBy: actorId },
        });
        const repo = toRepoView(row);
        const data: z.input<typeof RepoCreatedEvent> = { repo, actorId };
        await this.outbox.record(tx, { entity: "repo", entityId: row.id, event: "created", data });
        return repo;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw repoExists(repoUrl);
      throw err;
    }
  }

  /**
   * The repository as its platform describes it; null on a plain git host, and null while no
   * platform token is stored (a repo may be connected before its token: the URL's owner/name and
   * the given or default branch stand). A token the platform refuses is a 4xx naming the field.
   */
  private async fromPlatform(repoUrl: string) {
    try {
      const located = await this.platforms.forRepo({ id: null, repoUrl });
      return located ? await located.platform.getRepo(located.coords) : null;
    } catch (error) {
      if (isPlatformError(error, "not_configured")) return null;
      throw platformFailure(error, "body.repoUrl");
    }
  }

  async update(id: string, changes: UpdateRepoBody, actorId: string): Promise<Repo> {
    return this.outbox.transaction(async (tx) => {
      const { count } = await tx.repo.updateMany({ where: { id }, data: changes });
      if (count === 0) throw notFound("REPO_NOT_FOUND", "Repo not found");
      const repo = toRepoView(await tx.repo.findUniqueOrThrow({ where: { id } }));
      const data: z.input<typeof RepoUpdatedEvent> = { repo, changes, actorId };
      await this.outbox.record(tx, { entity: "repo", entityId: id, event: "updated", data });
      return repo;
    });
  }

  async delete(id: string, actorId: string): Promise<void> {
    await this.outbox.transaction(async (tx) => {
      const { count } = await tx.repo.deleteMany({ where: { id } });
      if (count === 0) throw notFound("REPO_NOT_FOUND", "Repo not found");
      const data: z.input<typeof RepoDeletedEvent> = { repoId: id, actorId };
      await this.outbox.record(tx, { entity: "repo", entityId: id, event: "deleted", data });
    });
  }
}
