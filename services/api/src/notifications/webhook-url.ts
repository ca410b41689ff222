// A webhook target: an absolute http(s) URL without credentials or fragment, whose host passes the
// same SSRF guard as repository URLs (RepoUrlPolicy: no loopback, link-local or private addresses
// unless OPTIO_ALLOWED_REPO_HOSTS allows the host). Checked when subscribing and again before every
// attempt, so a name that later resolves to a private address is not called.
import { invalidField } from "../errors";
import type { RepoUrlPolicy } from "../repos/repo-url";

export class WebhookUrlGuard {
  constructor(private readonly policy: RepoUrlPolicy) {}

  /** The URL as it will be called; throws 400 naming `field`. */
  async check(input: string, field = "body.url"): Promise<string> {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw invalidField(field, "must be an absolute http(s) URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      throw invalidField(field, "only http and https URLs are supported");
    if (url.username || url.password) throw invalidField(field, "must not contain credentials");
    if (url.hash) throw invalidField(field, "must not contain a fragment");
    await this.policy.checkHost(url.hostname, field, "URL_FORBIDDEN");
    return url.toString();
  }
}
