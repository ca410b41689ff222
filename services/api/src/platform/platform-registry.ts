// Finds the platform of a repository and a client for it: the host decides the platform, the
// repo's GitHub credential (github-credentials.ts: a token, else a GitHub App installation)
// authenticates. Clients are kept per API URL and credential, so their ETag caches survive from one
// polling cycle to the next (an App's client keeps its cache across token renewals).
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { SecretReader } from "../secrets/secret-reader";
import { PlatformError, type GitPlatform, type RepoCoords } from "./git-platform";
import { AppInstallationTokens } from "./github/app-installation-tokens";
import { githubCredential, NO_CREDENTIAL_HINT, type GitHubCredential } from "./github/github-credentials";
import { GitHubPlatform } from "./github/github.platform";
import { installationAuth } from "./github/installation-auth";
import { createOctokit, type BackoffSettings, type OctokitAuth } from "./github/octokit-client";
import type { PlatformHosts, PlatformLocation } from "./platform-hosts";

export type RepoPlatform = { platform: GitPlatform; coords: RepoCoords; location: PlatformLocation };

const hash = (value: string) => createHash("sha256").update(value).digest("hex");

export class GitPlatforms {
  private readonly clients = new Map<string, GitHubPlatform>();

  private readonly appTokens: AppInstallationTokens;

  constructor(
    private readonly options: {
      hosts: PlatformHosts;
      secrets: SecretReader;
      logger: Logger;
      backoff?: Partial<BackoffSettings>;
      /** GitHub App installation tokens (shared with the runs' git credentials). */
      appTokens?: AppInstallationTokens;
    },
  ) {
    this.appTokens =
      options.appTokens ?? new AppInstallationTokens({ logger: options.logger, backoff: options.backoff });
  }

  /** Where a repository URL lives, or null for a plain git host. No I/O. */
  locate(repoUrl: string): PlatformLocation | null {
    return this.options.hosts.locate(repoUrl);
  }

  /**
   * The platform client for a repository, or null when it is on a plain git host.
   * Throws PlatformError `not_configured` when no GitHub credential applies to it.
   */
  async forRepo(repo: { id: string | null; repoUrl: string }): Promise<RepoPlatform | null> {
    const location = this.locate(repo.repoUrl);
    if (!location) return null;
    const credential = await githubCredential(this.options.secrets, repo.id);
    if (!credential) {
      throw new PlatformError(
        "not_configured",
        `No GitHub credential for ${location.owner}/${location.name}: ${NO_CREDENTIAL_HINT}`,
      );
    }
    const key = `${location.apiUrl}\n${this.clientKey(credential, location)}`;
    let platform = this.clients.get(key);
    if (!platform) {
      const octokit = createOctokit({
        baseUrl: location.apiUrl,
        auth: this.auth(credential, location),
        logger: this.options.logger,
        backoff: this.options.backoff,
      });
      platform = new GitHubPlatform(octokit);
      this.clients.set(key, platform);
    }
    return { platform, coords: { owner: location.owner, name: location.name }, location };
  }

  private clientKey(credential: GitHubCredential, location: PlatformLocation): string {
    if (credential.kind === "token") return hash(credential.token);
    // An installation is per repository (or owner): one client each.
    const { appId, privateKey } = credential.app;
    return `app:${appId}:${hash(privateKey)}:${location.owner}/${location.name}`.toLowerCase();
  }

  private auth(credential: GitHubCredential, location: PlatformLocation): OctokitAuth {
    if (credential.kind === "token") return credential.token;
    const { app } = credential;
    return {
      authStrategy: installationAuth,
      auth: {
        current: async () => (await this.appTokens.token(app, location)).token,
        refused: (token: string) => this.appTokens.forget(app, location, token),
      },
    };
  }
}
