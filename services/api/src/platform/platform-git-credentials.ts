// A run's git credential: the stored GITHUB_TOKEN (the repo's, else the global one) for any host, as
// before; else, for a repository on GitHub, a GitHub App installation token (git over HTTPS takes it
// with the username `x-access-token`). A token the run receives has most of its hour left.
import type { Logger } from "pino";
import type { GitCredential } from "@optio/contracts";
import type { GitCredentialSource, RunRepo } from "../secrets/run-secrets";
import type { SecretReader } from "../secrets/secret-reader";
import type { AppInstallationTokens } from "./github/app-installation-tokens";
import { githubCredential } from "./github/github-credentials";
import type { PlatformHosts } from "./platform-hosts";

/** A run gets an installation token valid at least this long (GitHub's tokens last an hour). */
export const RUN_TOKEN_MIN_VALID_MS = 45 * 60_000;

const GIT_USERNAME = "x-access-token";

export class PlatformGitCredentials implements GitCredentialSource {
  constructor(
    private readonly options: {
      hosts: PlatformHosts;
      appTokens: AppInstallationTokens;
      logger: Logger;
    },
  ) {}

  async forRepo(repo: RunRepo, secrets: SecretReader): Promise<GitCredential> {
    const credential = await githubCredential(secrets, repo?.id ?? null);
    if (credential?.kind === "token") {
      return { source: "inline", username: GIT_USERNAME, secret: credential.token };
    }
    const location = repo ? this.options.hosts.locate(repo.repoUrl) : null;
    if (!credential || !location) return { source: "none" };
    try {
      const { token } = await this.options.appTokens.token(credential.app, location, RUN_TOKEN_MIN_VALID_MS);
      return { source: "inline", username: GIT_USERNAME, secret: token };
    } catch (err) {
      // The run still starts (a public clone works); its push fails and says so.
      this.options.logger.warn(
        { err, repoId: repo?.id },
        "no GitHub App installation token for the run's git credential",
      );
      return { source: "none" };
    }
  }
}
