import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import type { ErrorCode } from "@optio/contracts";
import { AppError, invalidField } from "../errors";

export type NormalisedRepoUrl = { repoUrl: string; host: string; fullName: string };

const ALLOWED_SCHEMES = new Set(["https:", "http:", "ssh:", "git:"]);
const SCP_LIKE = /^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)([^\s]+)$/;

/**
 * Canonical form of a repository URL: lower-case host and path, no `.git`, no trailing slash,
 * scp-like `git@host:owner/name` turned into `https://host/owner/name`; scheme and port kept.
 * Throws a 400 naming `field` when the URL is unusable.
 */
export function normaliseRepoUrl(input: string, field = "body.repoUrl"): NormalisedRepoUrl {
  const raw = input.trim();
  const scp = !raw.includes("://") ? SCP_LIKE.exec(raw) : null;
  let url: URL;
  try {
    url = new URL(scp ? `https://${scp[1]}/${scp[2]}` : raw);
  } catch {
    throw invalidField(field, "must be an http(s), ssh or git URL, or git@host:owner/name");
  }
  if (!ALLOWED_SCHEMES.has(url.protocol))
    throw invalidField(field, "only http(s), ssh and git URLs are supported");
  if (url.password || (url.username && url.protocol !== "ssh:")) {
    throw invalidField(field, "must not contain credentials; connect a credential instead");
  }
  if (url.search || url.hash) throw invalidField(field, "must not contain a query or fragment");
  const path = url.pathname
    .toLowerCase()
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .replace(/\/+$/, "");
  const segments = path.split("/").filter(Boolean);
  if (segments.length < 1 || segments.some((s) => s === "." || s === "..")) {
    throw invalidField(field, "must name a repository path, e.g. owner/name");
  }
  const host = url.hostname.toLowerCase();
  const user = url.protocol === "ssh:" && url.username ? `${url.username}@` : "";
  const port = url.port ? `:${url.port}` : "";
  return {
    repoUrl: `${url.protocol}//${user}${host}${port}/${segments.join("/")}`,
    host,
    fullName: segments.join("/"),
  };
}

// Addresses a repository host must not be or resolve to: requests to them would reach this
// machine or its private network (SSRF).
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  FORBIDDEN.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  FORBIDDEN.addSubnet(net, prefix, "ipv6");
}

function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return FORBIDDEN.check(mapped[1], "ipv4");
  return FORBIDDEN.check(address, family === 4 ? "ipv4" : "ipv6");
}

async function resolveAll(host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), timeoutMs);
  });
  try {
    const lookups = lookup(host, { all: true, verbatim: true }).then((rows) =>
      rows.map((row) => row.address),
    );
    return await Promise.race([lookups.catch(() => []), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Refuses hosts that are, or resolve to, loopback, link-local or private addresses. */
export class RepoUrlPolicy {
  private readonly allowedHosts: Set<string>;
  private readonly resolve: (host: string) => Promise<string[]>;

  constructor(options: { allowedHosts: string[]; resolve?: (host: string) => Promise<string[]> }) {
    this.allowedHosts = new Set(options.allowedHosts.map((host) => host.toLowerCase()));
    this.resolve = options.resolve ?? ((host) => resolveAll(host, 2_000));
  }

  /** Normalises and checks a URL; throws 400 VALIDATION_FAILED or REPO_URL_FORBIDDEN. */
  async check(input: string, field = "body.repoUrl"): Promise<NormalisedRepoUrl> {
    const normalised = normaliseRepoUrl(input, field);
    await this.checkHost(normalised.host, field);
    return normalised;
  }

  /**
   * Throws a 400 naming `field` when `hostname` is, or resolves to, a loopback, link-local or
   * private address and is not on the allow-list. Other outbound URLs (webhook targets) use it too.
   */
  async checkHost(hostname: string, field: string, code: ErrorCode = "REPO_URL_FORBIDDEN"): Promise<void> {
    const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
    if (this.allowedHosts.has(host) || this.allowedHosts.has(hostname.toLowerCase())) return;
    if (host === "localhost" || host.endsWith(".localhost")) throw forbidden(field, host, code);
    // An address that cannot be resolved (e.g. offline) is let through: it cannot reach anything.
    const addresses = isIP(host) ? [host] : await this.resolve(host);
    if (addresses.some(isForbiddenAddress)) throw forbidden(field, host, code);
  }
}

function forbidden(field: string, host: string, code: ErrorCode): AppError {
  return new AppError(
    400,
    code,
    `Host ${host} is a loopback, link-local or private address; allow it with OPTIO_ALLOWED_REPO_HOSTS`,
    [{ path: field, reason: "host is not allowed" }],
  );
}
