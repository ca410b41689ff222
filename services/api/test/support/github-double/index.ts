// TEST ONLY. A stateful GitHub double: a real HTTP server on 127.0.0.1 speaking the REST shapes
// Optio calls (repos, issues, comments, labels, pulls, merge, reviews, check runs, statuses), with
// ETag/304, rate-limit headers, injected rate-limit faults and token auth, backed by a real git
// server so PR heads are real branches, and sending signed webhook deliveries. Use the real
// Octokit against it: `apiUrl` is the API base URL, `webUrl` the web/git base (OPTIO_GITHUB_URL).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { startGitServer, type GitServer } from "../../../../runner/src/testing/git-server";
import { commitFile, GitBacking } from "./git-backing";
import { GitHubApps, type MintedToken } from "./apps";
import { Router } from "./router";
import { issueRoutes } from "./routes/issues";
import { pullRoutes } from "./routes/pulls";
import { commitRoutes } from "./routes/commits";
import { DoubleHttp, type Fault, type LoggedRequest, type RateLimit } from "./server";
import { Renderer, type IssueRecord, type StatusRecord } from "./store";
import { newDelivery, send, WebhookQueue, type Delivery, type DeliveryResult, type Hook } from "./webhooks";
import { GitHubWorld, type MergeMethod } from "./world";

export type { Delivery, DeliveryResult, Fault, LoggedRequest, RateLimit, MergeMethod, MintedToken };
export { signature } from "./webhooks";

export type RepoRef = { owner: string; name: string };

export interface GitHubDouble {
  /** `http://127.0.0.1:<port>`: web and git (`<webUrl>/<owner>/<name>.git`), OPTIO_GITHUB_URL. */
  readonly webUrl: string;
  /** `<webUrl>/api/v3`: the REST base URL (OPTIO_GITHUB_API_URL's default for such a host). */
  readonly apiUrl: string;
  /** A token the double accepts (login `optio-bot`). */
  readonly token: string;
  readonly git: GitServer;
  /** Every REST request, in order (git traffic excluded). */
  readonly requests: LoggedRequest[];
  /** Webhook deliveries sent so far, with the receiver's status. */
  readonly deliveries: DeliveryResult[];
  /** Direct access to the state, for assertions the methods below do not cover. */
  readonly world: GitHubWorld;

  /** A new GitHub App (the double keeps its public key); its private key is PKCS#1 PEM. */
  createApp(slug?: string): { appId: string; privateKey: string; slug: string };
  /** Installs the App on repositories of one owner; answers the installation id. */
  installApp(appId: string, repos: RepoRef[]): number;
  /** Installation tokens minted so far, oldest first. */
  readonly installationTokens: MintedToken[];
  /** Seconds installation tokens live from now on (GitHub: 3600). */
  setInstallationTokenTtl(seconds: number): void;
  /** Every installation token minted so far expires now (as an hour passing would). */
  expireInstallationTokens(): void;
  /** Another accepted token for `login`. */
  addToken(login: string, token?: string): string;
  revokeToken(token: string): void;
  /** Creates the repository (and its bare git repo with one commit on the default branch). */
  createRepo(
    owner: string,
    name: string,
    options?: { defaultBranch?: string; private?: boolean },
  ): RepoRef & { cloneUrl: string };
  /** Pushes a commit changing `file` on `branch` (created from `from`, default the default branch). */
  commit(
    repo: RepoRef,
    branch: string,
    file: { path: string; content: string; message?: string; from?: string },
  ): Promise<string>;
  branchSha(repo: RepoRef, branch: string): string | null;

  addIssue(
    repo: RepoRef,
    input: {
      title: string;
      body?: string | null;
      labels?: string[];
      author?: string;
      state?: "open" | "closed";
    },
  ): IssueRecord;
  getIssue(repo: RepoRef, number: number): IssueRecord;
  comments(repo: RepoRef, number: number): Array<{ id: number; body: string; author: string }>;
  addComment(repo: RepoRef, number: number, body: string, author?: string): void;
  /** The PRs (issues with a pull part) of a repo. */
  pulls(repo: RepoRef): IssueRecord[];
  closeIssue(repo: RepoRef, number: number): void;
  /** Labels an issue as a user would (a `labeled` delivery per label it did not have). */
  labelIssue(repo: RepoRef, number: number, labels: string[]): void;
  /** Merges a PR as a user would in the web UI. */
  mergePull(repo: RepoRef, number: number, method?: MergeMethod): void;
  /** Sets (or replaces by name) a check run on a PR's head commit (or on a sha). */
  setCheckRun(
    repo: RepoRef,
    target: { pull: number } | { sha: string },
    input: Parameters<GitHubWorld["setCheckRun"]>[2],
  ): void;
  addStatus(
    repo: RepoRef,
    target: { pull: number } | { sha: string },
    input: { context?: string; state: StatusRecord["state"]; description?: string; targetUrl?: string },
  ): void;
  submitReview(
    repo: RepoRef,
    number: number,
    input: { event: "APPROVE" | "REQUEST_CHANGES" | "COMMENT"; body?: string; author?: string },
  ): void;

  /**
   * The next `times` requests matching `match` (default: any) fail with `status`; with `afterApply`
   * they take effect first and only the answer is lost.
   */
  failNext(fault: {
    status: Fault["status"];
    retryAfter?: number;
    times?: number;
    match?: RegExp;
    afterApply?: boolean;
  }): void;
  /** Sets a token's remaining primary rate limit (0 → 403 "API rate limit exceeded" until reset). */
  setRateLimit(token: string, remaining: number, resetInSeconds?: number): void;
  rateLimitOf(token: string): RateLimit;

  /** State changes of the repo are delivered to `url`, signed with `secret`. */
  addWebhook(repo: RepoRef, hook: { url: string; secret: string; events?: string[] }): void;
  /** `auto` (default) sends each delivery at once; `manual` holds them until `flushWebhooks`. */
  setWebhookMode(mode: "auto" | "manual"): void;
  heldWebhooks(): Delivery[];
  flushWebhooks(options?: { reverse?: boolean; duplicate?: boolean }): Promise<void>;
  redeliver(deliveryId: string): Promise<void>;
  /** Resolves when every queued delivery was sent. */
  webhooksIdle(): Promise<void>;
  /** Sends one crafted delivery (any event/payload, optionally a wrong or missing signature). */
  sendWebhook(input: {
    url: string;
    secret: string;
    event: string;
    payload: unknown;
    deliveryId?: string;
    signature?: string | null;
  }): Promise<DeliveryResult>;

  close(): Promise<void>;
}

export async function startGitHubDouble(options: { login?: string } = {}): Promise<GitHubDouble> {
  const git = await startGitServer(null);
  const router = new Router();
  const front = new DoubleHttp(router);
  front.gitOrigin = new URL(git.url("x")).origin;
  const server = http.createServer(front.handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const webUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const apiUrl = `${webUrl}/api/v3`;
  const queue = new WebhookQueue();
  const world = new GitHubWorld(new Renderer(webUrl, apiUrl), new GitBacking(git), queue);
  const apps = new GitHubApps((value, login, expiresAt) => {
    front.tokens.set(value, login);
    front.expiries.set(value, expiresAt);
  });
  front.apps = apps;
  router.add([...issueRoutes(world), ...pullRoutes(world), ...commitRoutes(world), ...apps.routes()]);

  const addToken = (login: string, token = `ghp_${randomBytes(18).toString("hex")}`) => {
    front.tokens.set(token, login);
    return token;
  };
  const token = addToken(options.login ?? "optio-bot");
  const repoOf = (ref: RepoRef) => world.repo(ref.owner, ref.name);
  const shaOf = (ref: RepoRef, target: { pull: number } | { sha: string }) => {
    const repo = repoOf(ref);
    return "sha" in target ? target.sha : world.liveHeadSha(repo, world.pull(repo, target.pull));
  };

  return {
    webUrl,
    apiUrl,
    token,
    git,
    requests: front.log,
    deliveries: queue.sent,
    world,
    addToken,
    createApp: (slug) => apps.create(slug),
    installApp(appId, repos) {
      const owners = new Set(repos.map((ref) => ref.owner.toLowerCase()));
      if (owners.size !== 1) throw new Error("an installation belongs to one owner");
      return apps.install(
        appId,
        repos[0]!.owner,
        repos.map((ref) => ref.name),
      );
    },
    installationTokens: apps.minted,
    setInstallationTokenTtl: (seconds) => void (apps.tokenTtlSeconds = seconds),
    expireInstallationTokens() {
      for (const minted of apps.minted) front.expiries.set(minted.token, Date.now());
    },
    revokeToken: (value) => void front.tokens.delete(value),
    createRepo(owner, name, repoOptions = {}) {
      const defaultBranch = repoOptions.defaultBranch ?? "main";
      git.createRepo(GitBacking.repoName(owner, name), defaultBranch);
      world.addRepo(owner, name, { defaultBranch, private: repoOptions.private ?? false });
      return { owner, name, cloneUrl: `${webUrl}/${owner}/${name}.git` };
    },
    async commit(ref, branch, file) {
      const name = GitBacking.repoName(ref.owner, ref.name);
      const from = file.from ?? (world.git.branchSha(name, branch) ? branch : repoOf(ref).defaultBranch);
      const parent = world.git.branchSha(name, from);
      if (!parent) throw new Error(`no branch ${from}`);
      return commitFile(git.url(name), { parent, branch, ...file });
    },
    branchSha: (ref, branch) => world.git.branchSha(GitBacking.repoName(ref.owner, ref.name), branch),
    addIssue: (ref, input) => world.createIssue(repoOf(ref), input),
    getIssue: (ref, number) => world.issue(repoOf(ref), number),
    comments: (ref, number) =>
      world
        .comments(repoOf(ref), number)
        .map((comment) => ({ id: comment.id, body: comment.body, author: comment.author.login })),
    addComment(ref, number, body, author) {
      const repo = repoOf(ref);
      world.addComment(repo, world.issue(repo, number), body, author);
    },
    pulls: (ref) => world.pulls(repoOf(ref)),
    closeIssue(ref, number) {
      const repo = repoOf(ref);
      world.updateIssue(repo, world.issue(repo, number), { state: "closed" });
    },
    labelIssue(ref, number, labels) {
      const repo = repoOf(ref);
      world.addLabels(repo, world.issue(repo, number), labels);
    },
    mergePull(ref, number, method = "merge") {
      const repo = repoOf(ref);
      world.mergePull(repo, world.pull(repo, number), { method, by: "octocat" });
    },
    setCheckRun: (ref, target, input) => void world.setCheckRun(repoOf(ref), shaOf(ref, target), input),
    addStatus: (ref, target, input) => void world.addStatus(repoOf(ref), shaOf(ref, target), input),
    submitReview(ref, number, input) {
      const repo = repoOf(ref);
      world.addReview(repo, world.pull(repo, number), input);
    },
    failNext: (fault) => void front.faults.push({ ...fault, times: fault.times ?? 1 }),
    setRateLimit(value, remaining, resetInSeconds = 3600) {
      const limit = front.limitOf(value);
      limit.remaining = remaining;
      limit.resetAt = Math.floor(Date.now() / 1000) + resetInSeconds;
    },
    rateLimitOf: (value) => ({ ...front.limitOf(value) }),
    addWebhook: (ref, hook) =>
      world.addHook(ref.owner, ref.name, { ...hook, events: hook.events ?? "*" } satisfies Hook),
    setWebhookMode: (mode) => void (queue.mode = mode),
    heldWebhooks: () => queue.held(),
    flushWebhooks: (flushOptions) => queue.flush(flushOptions),
    redeliver: (id) => queue.redeliver(id),
    webhooksIdle: () => queue.idle(),
    sendWebhook: (input) =>
      send(
        newDelivery({ url: input.url, secret: input.secret }, input.event, input.payload, input.deliveryId),
        {
          signature: input.signature,
        },
      ),
    async close() {
      await queue.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await git.close();
    },
  };
}
