// Finds the platform of a repository and a client for it: the host decides the platform, the
// secret GITHUB_TOKEN (the repo's own, else the global one) authenticates. Clients are kept per
// API URL and credential, so their ETag caches survive from one polling cycle to the next.
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { SecretReader } from "../secrets/secret-reader";
import { PlatformError, type GitPlatform, type RepoCoords } from "./git-platform";
import { GitHubPlatform } from "./github/github.platform";
import { createOctokit, type BackoffSettings } from "./github/octokit-client";
import type { PlatformHosts, PlatformLocation } from "./platform-hosts";

export const GITHUB_TOKEN_SECRET = "GITHUB_TOKEN";

export type RepoPlatform = { platform: GitPlatform; coords: RepoCoords; location: PlatformLocation };

export class GitPlatforms {
  private readonly clients = new Map<string, GitHubPlatform>();

  constructor(
    private readonly options: {
      hosts: PlatformHosts;
      secrets: SecretReader;
      logger: Logger;
      backoff?: Partial<BackoffSettings>;
    },
  ) {}

  /** Where a repository URL lives, or null for a plain git host. No I/O. */
  locate(repoUrl: string): PlatformLocation | null {
    return this.options.hosts.locate(repoUrl);
  }

  /**
   * The platform client for a repository, or null when it is on a plain git host.
   * Throws PlatformError `not_configured` when no GITHUB_TOKEN secret applies to it.
   */
  async forRepo(repo: { id: string | null; repoUrl: string }): Promise<RepoPlatform | null> {
    const location = this.locate(repo.repoUrl);
    if (!location) return null;
    const token = await this.options.secrets.resolve(GITHUB_TOKEN_SECRET, repo.id);
    if (!token) {
      throw new PlatformError(
        "not_configured",
        `No ${GITHUB_TOKEN_SECRET} secret for ${location.owner}/${location.name}: add one (global or for this repo)`,
      );
    }
    const key = `${location.apiUrl}\n${createHash("sha256").update(token).digest("hex")}`;
    let platform = this.clients.get(key);
    if (!platform) {
      const octokit = createOctokit({
        baseUrl: location.apiUrl,
        auth: token,
        logger: this.options.logger,
        backoff: this.options.backoff,
      });
      platform = new GitHubPlatform(octokit);
      this.clients.set(key, platform);
    }
    return { platform, coords: { owner: location.owner, name: location.name }, location };
  }
}
