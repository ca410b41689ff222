// GitHub App installation tokens: the App signs a JWT with its private key (@octokit/auth-app),
// finds its installation on a repository (GET /repos/{owner}/{repo}/installation) and exchanges the
// JWT for an installation token (POST /app/installations/{id}/access_tokens), kept until shortly
// before it expires. Errors name the App and the secret to check, never the key or a token.
import { createHash } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import type { Logger } from "pino";
import { PlatformError, type RepoCoords } from "../git-platform";
import { toPlatformError } from "./github-mapping";
import { createOctokit, type BackoffSettings, type GitHubOctokit } from "./octokit-client";

export type AppCredentials = { appId: string; privateKey: string };
export type InstallationToken = { token: string; expiresAt: Date };
/** Where the installation lives: the repo on the GitHub whose API is `apiUrl`. */
export type InstallationTarget = RepoCoords & { apiUrl: string };

/** A token this close to its expiry is not handed out again (GitHub's last minutes, clock skew). */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

const hash = (value: string) => createHash("sha256").update(value).digest("hex").slice(0, 32);

/**
 * The PEM text of a stored key. Secrets are one line, so the key is stored with its newlines written
 * as `\n`, or base64-encoded whole.
 */
export function pemOf(stored: string): string {
  const text = stored.trim();
  if (!text.includes("-----BEGIN")) {
    const decoded = Buffer.from(text, "base64").toString("utf8");
    if (decoded.includes("-----BEGIN")) return decoded.trim();
  }
  return text.replace(/\\n/g, "\n");
}

export class AppInstallationTokens {
  private readonly apps = new Map<string, GitHubOctokit>();
  private readonly installations = new Map<string, number>();
  private readonly tokens = new Map<string, InstallationToken>();
  private readonly minting = new Map<string, Promise<InstallationToken>>();
  private readonly logger: Logger;
  private readonly backoff: Partial<BackoffSettings> | undefined;
  private readonly refreshMarginMs: number;

  constructor(options: { logger: Logger; backoff?: Partial<BackoffSettings>; refreshMarginMs?: number }) {
    this.logger = options.logger;
    this.backoff = options.backoff;
    this.refreshMarginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  }

  /**
   * An installation token for the repository, valid for at least `minValidMs` more (default: the
   * refresh margin); cached ones are reused until then.
   */
  async token(
    app: AppCredentials,
    target: InstallationTarget,
    minValidMs = this.refreshMarginMs,
  ): Promise<InstallationToken> {
    const appKey = this.appKey(app, target.apiUrl);
    const installationId = await this.installationOf(app, target, appKey);
    const tokenKey = `${appKey}\n${installationId}`;
    const cached = this.tokens.get(tokenKey);
    if (cached && cached.expiresAt.getTime() - Date.now() > minValidMs) return cached;
    let pending = this.minting.get(tokenKey);
    if (!pending) {
      pending = this.mint(app, target, installationId).finally(() => this.minting.delete(tokenKey));
      this.minting.set(tokenKey, pending);
    }
    const minted = await pending;
    this.tokens.set(tokenKey, minted);
    return minted;
  }

  /** GitHub refused `token` before its time (revoked, clock skew): the next call mints another. */
  forget(app: AppCredentials, target: InstallationTarget, token: string): void {
    const appKey = this.appKey(app, target.apiUrl);
    for (const [key, entry] of this.tokens) {
      if (key.startsWith(`${appKey}\n`) && entry.token === token) this.tokens.delete(key);
    }
  }

  private appKey(app: AppCredentials, apiUrl: string): string {
    return `${apiUrl}\n${app.appId}\n${hash(app.privateKey)}`;
  }

  private client(app: AppCredentials, apiUrl: string): GitHubOctokit {
    const key = this.appKey(app, apiUrl);
    let octokit = this.apps.get(key);
    if (!octokit) {
      octokit = createOctokit({
        baseUrl: apiUrl,
        auth: { authStrategy: createAppAuth, auth: { appId: app.appId, privateKey: pemOf(app.privateKey) } },
        logger: this.logger,
        backoff: this.backoff,
      });
      this.apps.set(key, octokit);
    }
    return octokit;
  }

  private async installationOf(app: AppCredentials, target: InstallationTarget, appKey: string) {
    const key = `${appKey}\n${target.owner.toLowerCase()}/${target.name.toLowerCase()}`;
    const known = this.installations.get(key);
    if (known !== undefined) return known;
    const octokit = await this.signed(app, target.apiUrl);
    const where = `${target.owner}/${target.name}`;
    try {
      const { data } = await octokit.rest.apps.getRepoInstallation({
        owner: target.owner,
        repo: target.name,
      });
      this.installations.set(key, data.id);
      return data.id;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 404) {
        throw new PlatformError(
          "not_configured",
          `The GitHub App ${app.appId} is not installed on ${where}: install it there, or store a GITHUB_TOKEN`,
          404,
        );
      }
      throw this.failure(error, app, `the GitHub App's installation on ${where}`);
    }
  }

  private async mint(
    app: AppCredentials,
    target: InstallationTarget,
    installationId: number,
  ): Promise<InstallationToken> {
    const octokit = await this.signed(app, target.apiUrl);
    try {
      const minted = (await octokit.auth({ type: "installation", installationId, refresh: true })) as {
        token: string;
        expiresAt: string;
      };
      this.logger.debug({ appId: app.appId, installationId }, "GitHub App installation token minted");
      return { token: minted.token, expiresAt: new Date(minted.expiresAt) };
    } catch (error) {
      throw this.failure(error, app, `an installation token of the GitHub App`);
    }
  }

  /** The App's client, once its key has signed a JWT: a key that cannot sign fails here, clearly. */
  private async signed(app: AppCredentials, apiUrl: string): Promise<GitHubOctokit> {
    const octokit = this.client(app, apiUrl);
    try {
      await octokit.auth({ type: "app" });
    } catch {
      // The signing library's message may quote the key: it is not passed on.
      throw new PlatformError(
        "auth",
        `GITHUB_APP_PRIVATE_KEY cannot sign for GitHub App ${app.appId}: store the App's private key (PEM) as downloaded from its settings`,
      );
    }
    return octokit;
  }

  private failure(error: unknown, app: AppCredentials, what: string): PlatformError {
    if ((error as { status?: number }).status === 401) {
      return new PlatformError(
        "auth",
        `GitHub rejected GitHub App ${app.appId}'s signature (${what}): check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY`,
        401,
      );
    }
    return toPlatformError(error, what);
  }
}
