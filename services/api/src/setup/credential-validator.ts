// Probes an upstream service with a credential to tell whether it is accepted. The only I/O is one
// HTTP request per call; the answer never contains the credential, and a failing upstream is an
// answer (valid: false, error), not an exception.
import type { CredentialValidation } from "@optio/contracts";

const TIMEOUT_MS = 10_000;

type Probe = { service: string; url: URL; headers: Record<string, string> };

/** `base` may carry a path prefix (GitHub Enterprise: https://host/api/v3). */
const endpoint = (base: string, path: string) => new URL(path, base.endsWith("/") ? base : `${base}/`);

export class CredentialValidator {
  private readonly githubApiUrl: string;
  private readonly anthropicApiUrl: string;

  constructor(options: { githubApiUrl: string; anthropicApiUrl: string }) {
    this.githubApiUrl = options.githubApiUrl;
    this.anthropicApiUrl = options.anthropicApiUrl;
  }

  /** GET /user: a token GitHub accepts names its user. */
  async githubToken(token: string): Promise<CredentialValidation> {
    const result = await this.probe({
      service: "GitHub",
      url: endpoint(this.githubApiUrl, "user"),
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
        "user-agent": "optio",
      },
    });
    if (!result.ok) return result.validation;
    const body = result.body as { login?: unknown; name?: unknown } | null;
    if (typeof body?.login !== "string") return { valid: false, error: "GitHub answered without a user" };
    return {
      valid: true,
      user: { login: body.login, name: typeof body.name === "string" ? body.name : null },
    };
  }

  /** GET /v1/models: an API key (x-api-key) or a Claude OAuth token (bearer) the API accepts. */
  async anthropicKey(key: string): Promise<CredentialValidation> {
    const oauth = key.startsWith("sk-ant-oat");
    const result = await this.probe({
      service: "Anthropic",
      url: endpoint(this.anthropicApiUrl, "v1/models?limit=1"),
      headers: {
        ...(oauth
          ? { authorization: `Bearer ${key}`, "anthropic-beta": "oauth-2025-04-20" }
          : { "x-api-key": key }),
        "anthropic-version": "2023-06-01",
      },
    });
    return result.ok ? { valid: true } : result.validation;
  }

  private async probe(
    probe: Probe,
  ): Promise<{ ok: true; body: unknown } | { ok: false; validation: CredentialValidation }> {
    const fail = (error: string) => ({ ok: false as const, validation: { valid: false, error } });
    let response: Response;
    try {
      response = await fetch(probe.url, { headers: probe.headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      // Name the cause (timeout, refused, DNS) without the request, which carries the credential.
      const cause = (error as { cause?: { code?: unknown } }).cause?.code ?? (error as Error).name;
      return fail(`Could not reach ${probe.service} (${String(cause)})`);
    }
    const body: unknown = await response.json().catch(() => null);
    if (response.ok) return { ok: true, body };
    if (response.status === 401) return fail(`${probe.service} rejected the credential (401)`);
    if (response.status === 403)
      return fail(`${probe.service} refused the request (403): missing permission or rate limit`);
    return fail(`${probe.service} answered ${response.status}`);
  }
}
