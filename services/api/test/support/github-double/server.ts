// TEST ONLY. The GitHub double's HTTP front: REST under /api/v3 (GitHub Enterprise layout) with
// token auth, `x-ratelimit-*` accounting, ETag/If-None-Match (a 304 is free, like GitHub), injected
// faults (secondary rate limits, 429, 5xx), and smart-HTTP git at /<owner>/<repo>[.git] proxied to
// the test git server (Basic auth, the password being a known token, as GitHub accepts). Tokens may
// expire (GitHub App installation tokens, see apps.ts).
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import { APP_ROUTE, type GitHubApps } from "./apps";
import { HttpError, type Router } from "./router";

export type RateLimit = { limit: number; remaining: number; resetAt: number; used: number };

export type LoggedRequest = {
  method: string;
  path: string;
  query: string;
  status: number;
  /** Whether it counted against the token's primary rate limit. */
  counted: boolean;
  login: string | null;
};

export type Fault = {
  status: 403 | 429 | 500 | 502 | 503;
  /** `retry-after` seconds (secondary limits). */
  retryAfter?: number;
  /** How many matching requests fail (default 1). */
  times: number;
  /** Only requests whose method + path ("GET /repos/a/b/pulls/1") matches. */
  match?: RegExp;
  /** The request takes effect and only its answer is lost (replaced by the fault). */
  afterApply?: boolean;
};

/** A smart-HTTP git path, with or without `.git` after the repo name (GitHub accepts both). */
function gitPath(pathname: string): { owner: string; repo: string; rest: string } | null {
  const match =
    /^\/([^/]+)\/([^/]+)\.git(\/.*)?$/.exec(pathname) ??
    /^\/([^/]+)\/([^/]+)(\/(?:info\/refs|git-upload-pack|git-receive-pack))$/.exec(pathname);
  return match ? { owner: match[1]!, repo: match[2]!, rest: match[3] ?? "" } : null;
}

const SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

export class DoubleHttp {
  readonly tokens = new Map<string, string>();
  /** Tokens that expire (installation tokens): token → ms epoch. */
  readonly expiries = new Map<string, number>();
  /** GitHub Apps: their JWTs authenticate the App routes. */
  apps: GitHubApps | null = null;
  readonly limits = new Map<string, RateLimit>();
  readonly log: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  rateLimit = 5000;
  /** Seconds until a token's rate-limit window resets. */
  windowSeconds = 3600;
  /** The git server to proxy `.git` paths to. */
  gitOrigin = "";

  constructor(private readonly router: Router) {}

  /** The login a token authenticates, unless unknown or expired. */
  loginOf(token: string): string | undefined {
    const expiresAt = this.expiries.get(token);
    return expiresAt !== undefined && expiresAt <= Date.now() ? undefined : this.tokens.get(token);
  }

  limitOf(token: string): RateLimit {
    let limit = this.limits.get(token);
    const now = Math.floor(Date.now() / 1000);
    if (!limit || limit.resetAt <= now) {
      limit = {
        limit: this.rateLimit,
        remaining: this.rateLimit,
        resetAt: now + this.windowSeconds,
        used: 0,
      };
      this.limits.set(token, limit);
    }
    return limit;
  }

  handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    const git = gitPath(url.pathname);
    if (git) return this.proxyGit(req, res, url, git);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      this.api(req, url, Buffer.concat(chunks).toString()).then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers);
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ message: String(error) }));
        },
      );
    });
  };

  private async api(
    req: http.IncomingMessage,
    url: URL,
    raw: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/^\/api\/v3/, "").replace(/\/+$/, "") || "/";
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "x-github-request-id": randomUUID(),
      "x-github-api-version-selected": "2022-11-28",
    };
    const entry: LoggedRequest = { method, path, query: url.search, status: 0, counted: false, login: null };
    this.log.push(entry);
    const finish = (status: number, body?: unknown) => {
      entry.status = status;
      return { status, headers, body: body === undefined ? "" : JSON.stringify(body) };
    };
    const fail = (error: HttpError) => {
      Object.assign(headers, error.headers);
      return finish(error.status, error.body());
    };

    if (!url.pathname.startsWith("/api/v3")) return fail(new HttpError(404, "Not Found"));
    const token = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim();
    let login: string | undefined;
    if (this.apps && APP_ROUTE.test(path)) {
      try {
        login = `app:${this.apps.verifyJwt(token).id}`;
      } catch (error) {
        if (error instanceof HttpError) return fail(error);
        throw error;
      }
    } else {
      login = token ? this.loginOf(token) : undefined;
    }
    if (!token || !login) return fail(new HttpError(401, "Bad credentials"));
    entry.login = login;
    const limit = this.limitOf(token);
    const rateHeaders = () =>
      Object.assign(headers, {
        "x-ratelimit-limit": String(limit.limit),
        "x-ratelimit-remaining": String(limit.remaining),
        "x-ratelimit-reset": String(limit.resetAt),
        "x-ratelimit-used": String(limit.used),
        "x-ratelimit-resource": "core",
      });
    if (path === "/rate_limit") {
      rateHeaders();
      return finish(200, {
        resources: { core: { ...limit, reset: limit.resetAt } },
        rate: { ...limit, reset: limit.resetAt },
      });
    }

    const fault = this.takeFault(`${method} ${path}`);
    const failWith = (injected: Fault) => {
      rateHeaders();
      if (injected.retryAfter !== undefined) headers["retry-after"] = String(injected.retryAfter);
      const message = injected.status === 403 || injected.status === 429 ? SECONDARY : "Server Error";
      return fail(new HttpError(injected.status, message));
    };
    if (fault && !fault.afterApply) return failWith(fault);
    if (limit.remaining <= 0) {
      rateHeaders();
      return fail(new HttpError(403, `API rate limit exceeded for user ${login}.`));
    }

    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
          body = parsed as Record<string, unknown>;
        else throw new Error("not an object");
      } catch {
        return fail(new HttpError(400, "Problems parsing JSON"));
      }
    }

    let reply;
    try {
      const found = this.router.match(method, path);
      if (!found) throw new HttpError(404, "Not Found");
      reply = await found.route.handle({
        method,
        params: found.params,
        query: url.searchParams,
        body,
        login,
        url,
      });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.count(limit, entry);
      rateHeaders();
      return fail(error);
    }
    if (fault) {
      this.count(limit, entry);
      return failWith(fault);
    }
    Object.assign(headers, reply.headers);
    const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
    if (method === "GET" && reply.status === 200) {
      // Weak ETag over the representation; a matching If-None-Match costs nothing (GitHub's rule).
      const etag = `W/"${createHash("sha256").update(text).digest("hex").slice(0, 32)}"`;
      headers.etag = etag;
      const ifNoneMatch = req.headers["if-none-match"];
      if (ifNoneMatch && ifNoneMatch.split(/\s*,\s*/).includes(etag)) {
        rateHeaders();
        entry.status = 304;
        return { status: 304, headers, body: "" };
      }
    }
    this.count(limit, entry);
    rateHeaders();
    entry.status = reply.status;
    return { status: reply.status, headers, body: text };
  }

  private count(limit: RateLimit, entry: LoggedRequest): void {
    limit.remaining = Math.max(0, limit.remaining - 1);
    limit.used += 1;
    entry.counted = true;
  }

  private takeFault(target: string): Fault | null {
    const index = this.faults.findIndex((fault) => !fault.match || fault.match.test(target));
    if (index < 0) return null;
    const fault = this.faults[index]!;
    fault.times -= 1;
    if (fault.times <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private proxyGit(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    git: NonNullable<ReturnType<typeof gitPath>>,
  ): void {
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const password = basic ? Buffer.from(basic, "base64").toString().split(":").slice(1).join(":") : "";
    if (!this.loginOf(password)) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="GitHub"' }).end();
      return;
    }
    const { owner, repo, rest } = git;
    const target = new URL(
      `/${owner.toLowerCase()}/${repo.toLowerCase()}.git${rest}${url.search}`,
      this.gitOrigin,
    );
    const headers = { ...req.headers };
    delete headers.authorization;
    delete headers.host;
    const upstream = http.request(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  }
}
