// Which platform a repository URL belongs to: github.com, or the GitHub Enterprise-style host of
// OPTIO_GITHUB_URL (web and git at `<OPTIO_GITHUB_URL>/<owner>/<name>`, API at
// OPTIO_GITHUB_API_URL, default `<OPTIO_GITHUB_URL>/api/v3`). Anything else is a plain git host.
import type { RepoCoords } from "./git-platform";

export type PlatformLocation = RepoCoords & { kind: "github"; apiUrl: string };

type Host = { host: string; pathPrefix: string; apiUrl: string };

const trimSlash = (value: string) => value.replace(/\/+$/, "");

export class PlatformHosts {
  private readonly hosts: Host[];

  constructor(options: { githubUrl?: string; githubApiUrl?: string }) {
    // OPTIO_GITHUB_API_URL alone re-points github.com's API (a proxy, or a double in tests).
    const githubComApi = (!options.githubUrl && options.githubApiUrl) || "https://api.github.com";
    this.hosts = [{ host: "github.com", pathPrefix: "", apiUrl: trimSlash(githubComApi) }];
    if (options.githubUrl) {
      const url = new URL(options.githubUrl);
      const host = url.host.toLowerCase();
      const pathPrefix = trimSlash(url.pathname.toLowerCase());
      const apiUrl = trimSlash(
        options.githubApiUrl ??
          (host === "github.com" ? "https://api.github.com" : `${url.origin}${pathPrefix}/api/v3`),
      );
      this.hosts = [{ host, pathPrefix, apiUrl }, ...this.hosts.filter((entry) => entry.host !== host)];
    }
  }

  /** The API of the configured GitHub (OPTIO_GITHUB_URL's, else github.com's). */
  get githubApiUrl(): string {
    return this.hosts[0]!.apiUrl;
  }

  /** The platform location of a repository URL, or null for a plain git host. */
  locate(repoUrl: string): PlatformLocation | null {
    let url: URL;
    try {
      url = new URL(repoUrl);
    } catch {
      return null;
    }
    const host = url.host.toLowerCase();
    const entry = this.hosts.find((candidate) => candidate.host === host || candidate.host === `www.${host}`);
    if (!entry) return null;
    let path = trimSlash(url.pathname).replace(/\.git$/, "");
    if (entry.pathPrefix) {
      if (!path.toLowerCase().startsWith(`${entry.pathPrefix}/`)) return null;
      path = path.slice(entry.pathPrefix.length);
    }
    const segments = path.split("/").filter(Boolean);
    if (segments.length !== 2) return null;
    return { kind: "github", owner: segments[0]!, name: segments[1]!, apiUrl: entry.apiUrl };
  }
}
