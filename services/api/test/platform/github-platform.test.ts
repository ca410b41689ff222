// The GitHub client (real Octokit with throttling and retry) against the stateful GitHub double.
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { isPlatformError } from "../../src/platform/git-platform";
import { GitHubPlatform } from "../../src/platform/github/github.platform";
import { createOctokit } from "../../src/platform/github/octokit-client";
import { signature, startGitHubDouble, type GitHubDouble } from "../support/github-double";
import { testSecret } from "../../../runner/src/testing/fixtures";

const logger = pino({ level: "silent" });
const repo = { owner: "acme", name: "widgets" };

let double: GitHubDouble;
let platform: GitHubPlatform;

const clientWith = (token: string) =>
  new GitHubPlatform(
    createOctokit({
      baseUrl: double.apiUrl,
      auth: token,
      logger,
      backoff: { unitMs: 20, maxWaitSeconds: 5 },
    }),
  );
const counted = (from: number) => double.requests.slice(from).filter((request) => request.counted).length;

beforeAll(async () => {
  double = await startGitHubDouble();
  double.createRepo("acme", "widgets", { defaultBranch: "trunk" });
  platform = clientWith(double.token);
});
afterAll(() => double.close());

describe("repositories and issues", () => {
  it("reads the repository's default branch", async () => {
    await expect(platform.getRepo(repo)).resolves.toMatchObject({
      fullName: "acme/widgets",
      defaultBranch: "trunk",
      webUrl: `${double.webUrl}/acme/widgets`,
    });
  });

  it("lists issues without the pull requests GitHub mixes in, with offset and limit", async () => {
    const first = double.addIssue(repo, { title: "First bug", body: "It breaks", labels: ["bug"] });
    await double.commit(repo, "feature/a", { path: "a.txt", content: "a" });
    const pull = await platform.createPull(repo, {
      head: "feature/a",
      base: "trunk",
      title: "A",
      body: "",
      draft: false,
    });
    const second = double.addIssue(repo, { title: "Second bug" });
    double.addIssue(repo, { title: "Old one", state: "closed" });

    const open = await platform.listIssues(repo, { state: "open", limit: 10, offset: 0 });
    expect(open.issues.map((issue) => issue.number).sort()).toEqual([first.number, second.number].sort());
    expect(open.issues.find((issue) => issue.number === first.number)).toMatchObject({
      labels: ["bug"],
      body: "It breaks",
    });
    expect(open.hasMore).toBe(false);
    const all = await platform.listIssues(repo, { state: "all", limit: 1, offset: 1 });
    expect(all.issues).toHaveLength(1);
    expect(all.hasMore).toBe(true);

    await expect(platform.getIssue(repo, pull.number)).rejects.toMatchObject({ kind: "not_found" });
    await expect(platform.getIssue(repo, 999)).rejects.toMatchObject({ kind: "not_found" });
  });

  it("labels, comments on and closes an issue", async () => {
    const issue = double.addIssue(repo, { title: "Label me" });
    await platform.addLabels(repo, issue.number, ["optio"]);
    const comment = await platform.createComment(repo, issue.number, "Optio is on it");
    expect(comment.url).toContain(`/acme/widgets/issues/${issue.number}`);
    await platform.closeIssue(repo, issue.number);
    expect(double.getIssue(repo, issue.number)).toMatchObject({ state: "closed", labels: ["optio"] });
    expect((await platform.listIssueComments(repo, issue.number)).map((c) => c.body)).toEqual([
      "Optio is on it",
    ]);
  });

  it("reports a token GitHub rejects as an auth error, and an unknown repo as not found", async () => {
    const error = await clientWith("ghp_unknown")
      .getRepo(repo)
      .catch((caught: unknown) => caught);
    expect(isPlatformError(error, "auth")).toBe(true);
    expect(String((error as Error).message)).not.toContain("ghp_unknown");
    await expect(platform.getRepo({ owner: "acme", name: "nope" })).rejects.toMatchObject({
      kind: "not_found",
    });
  });
});

describe("pull requests", () => {
  it("opens a PR from a real branch, finds it by head, refuses a second one, merges it", async () => {
    await double.commit(repo, "optio/task-1", { path: "src/one.ts", content: "export const one = 1;\n" });
    const pull = await platform.createPull(repo, {
      head: "optio/task-1",
      base: "trunk",
      title: "Task 1",
      body: "Closes #1",
      draft: true,
    });
    expect(pull).toMatchObject({ state: "open", draft: true, headRef: "optio/task-1", baseRef: "trunk" });
    expect(pull.headSha).toBe(double.branchSha(repo, "optio/task-1"));
    await expect(platform.findOpenPull(repo, "optio/task-1")).resolves.toMatchObject({ number: pull.number });
    await expect(platform.findOpenPull(repo, "optio/none")).resolves.toBeNull();
    await expect(
      platform.createPull(repo, {
        head: "optio/task-1",
        base: "trunk",
        title: "again",
        body: "",
        draft: false,
      }),
    ).rejects.toMatchObject({ kind: "invalid" });

    await expect(
      platform.mergePull(repo, pull.number, { method: "squash", sha: "0".repeat(40) }),
    ).rejects.toMatchObject({
      kind: "conflict",
    });
    const merged = await platform.mergePull(repo, pull.number, { method: "squash", sha: pull.headSha });
    expect(double.branchSha(repo, "trunk")).toBe(merged.sha);
    expect(double.git.git("acme/widgets", ["show", "trunk:src/one.ts"])).toContain("one = 1");
    await expect(platform.getPull(repo, pull.number)).resolves.toMatchObject({
      state: "closed",
      merged: true,
    });
  });

  it("observes a PR by conditional requests: an unchanged PR costs no rate limit", async () => {
    await double.commit(repo, "optio/task-2", { path: "two.txt", content: "2" });
    const pull = await platform.createPull(repo, {
      head: "optio/task-2",
      base: "trunk",
      title: "T2",
      body: "",
      draft: false,
    });
    double.setCheckRun(repo, { pull: pull.number }, { name: "build", status: "in_progress" });
    double.addStatus(
      repo,
      { pull: pull.number },
      { context: "ci/lint", state: "success", description: "ok" },
    );

    const before = double.requests.length;
    const first = await platform.observePull(repo, pull.number);
    expect(first.changed).toBe(true);
    expect(first.snapshot).toMatchObject({
      number: pull.number,
      state: "open",
      mergeable: true,
      headRef: "optio/task-2",
    });
    expect(first.snapshot.checks.verdict).toBe("pending");
    expect(counted(before)).toBe(4);

    const remaining = double.rateLimitOf(double.token).remaining;
    const mark = double.requests.length;
    const second = await platform.observePull(repo, pull.number);
    expect(second).toEqual({ snapshot: first.snapshot, changed: false });
    expect(double.requests.slice(mark).map((request) => request.status)).toEqual([304, 304, 304, 304]);
    expect(counted(mark)).toBe(0);
    expect(double.rateLimitOf(double.token).remaining).toBe(remaining);

    double.setCheckRun(
      repo,
      { pull: pull.number },
      { name: "build", conclusion: "failure", summary: "2 tests failed" },
    );
    double.submitReview(repo, pull.number, {
      event: "REQUEST_CHANGES",
      body: "Rename the file",
      author: "alice",
    });
    const third = await platform.observePull(repo, pull.number);
    expect(third.changed).toBe(true);
    expect(third.snapshot.checks).toEqual({
      verdict: "failing",
      items: [
        { name: "build", state: "failure", url: null, summary: "2 tests failed" },
        { name: "ci/lint", state: "success", url: null, summary: "ok" },
      ],
    });
    expect(third.snapshot.review).toEqual({
      decision: "changes_requested",
      requestedChanges: ["Rename the file"],
    });

    double.submitReview(repo, pull.number, { event: "APPROVE", author: "alice" });
    expect((await platform.observePull(repo, pull.number)).snapshot.review.decision).toBe("approved");
  });

  it("reads every page of check runs", async () => {
    await double.commit(repo, "optio/task-3", { path: "three.txt", content: "3" });
    const pull = await platform.createPull(repo, {
      head: "optio/task-3",
      base: "trunk",
      title: "T3",
      body: "",
      draft: false,
    });
    for (let i = 0; i < 130; i++)
      double.setCheckRun(repo, { pull: pull.number }, { name: `job-${i}`, conclusion: "success" });
    double.setCheckRun(repo, { pull: pull.number }, { name: "job-last", conclusion: "failure" });
    const { snapshot } = await platform.observePull(repo, pull.number);
    expect(snapshot.checks.items).toHaveLength(131);
    expect(snapshot.checks.verdict).toBe("failing");
  });
});

describe("rate limits", () => {
  it("waits out a secondary rate limit (403) and a 429 with retry-after, then succeeds", async () => {
    for (const status of [403, 429] as const) {
      const mark = double.requests.length;
      double.failNext({ status, retryAfter: 1, match: /^GET \/repos\/acme\/widgets$/ });
      await expect(platform.getRepo(repo)).resolves.toMatchObject({ defaultBranch: "trunk" });
      const repoReads = double.requests
        .slice(mark)
        .filter((request) => request.path === "/repos/acme/widgets");
      expect(repoReads.map((request) => request.status)).toEqual([status, 200]);
    }
  });

  it("gives up as rate limited when the primary limit resets too late to wait for", async () => {
    const token = double.addToken("limited-bot");
    const client = clientWith(token);
    double.setRateLimit(token, 0, 3600);
    const error = await client.getRepo(repo).catch((caught: unknown) => caught);
    expect(isPlatformError(error, "rate_limited")).toBe(true);
  });
});

describe("webhooks", () => {
  it("delivers state changes signed with the hook's secret", async () => {
    const received: Array<{ event: string; delivery: string; valid: boolean; action: string }> = [];
    const hookSecret = testSecret("whsec-");
    const receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        received.push({
          event: String(req.headers["x-github-event"]),
          delivery: String(req.headers["x-github-delivery"]),
          valid: req.headers["x-hub-signature-256"] === signature(hookSecret, body),
          action: (JSON.parse(body) as { action?: string }).action ?? "",
        });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      const hooked = { owner: "acme", name: "hooked" };
      double.createRepo("acme", "hooked");
      double.addWebhook(hooked, { url, secret: hookSecret });
      double.addIssue(hooked, { title: "Hello" });
      await double.commit(hooked, "optio/x", { path: "x", content: "x" });
      double.setWebhookMode("manual");
      const pull = await clientWith(double.token).createPull(hooked, {
        head: "optio/x",
        base: "main",
        title: "X",
        body: "",
        draft: false,
      });
      double.setCheckRun(hooked, { pull: pull.number }, { name: "ci", conclusion: "success" });
      expect(double.heldWebhooks().map((delivery) => delivery.event)).toEqual(["pull_request", "check_run"]);
      await double.flushWebhooks({ reverse: true, duplicate: true });
      double.setWebhookMode("auto");
      await double.webhooksIdle();
      expect(received.map((r) => `${r.event}:${r.action}`)).toEqual([
        "issues:opened",
        "check_run:completed",
        "check_run:completed",
        "pull_request:opened",
        "pull_request:opened",
      ]);
      expect(received.every((r) => r.valid)).toBe(true);
      expect(received[1]!.delivery).toBe(received[2]!.delivery);

      const forged = await double.sendWebhook({
        url,
        secret: "wrong",
        event: "ping",
        payload: { zen: "hi" },
      });
      expect(forged.status).toBe(202);
      expect(received.at(-1)).toMatchObject({ event: "ping", valid: false });
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
