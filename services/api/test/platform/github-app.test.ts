// GitHub App mode against the GitHub double (real Octokit and @octokit/auth-app): the App's JWT
// finds its installation and mints installation tokens, which the platform client and a run's git
// credential use; tokens are reused, renewed shortly before expiry and after GitHub refuses them;
// a bad private key fails clearly, without key material in the error or the logs.
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import pino from "pino";
import { isPlatformError } from "../../src/platform/git-platform";
import { AppInstallationTokens } from "../../src/platform/github/app-installation-tokens";
import { PlatformGitCredentials } from "../../src/platform/platform-git-credentials";
import { PlatformHosts } from "../../src/platform/platform-hosts";
import { GitPlatforms } from "../../src/platform/platform-registry";
import { StaticSecretReader } from "../../src/secrets/static-secret-reader";
import { createTestContext } from "../helpers/test-context";
import { startGitHubDouble, type GitHubDouble, type RepoRef } from "../support/github-double";

const run = promisify(execFile);
const logLines: string[] = [];
const logger = pino(
  { level: "debug" },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

let double: GitHubDouble;
let app: { appId: string; privateKey: string; slug: string };
const repo: RepoRef = { owner: "acme", name: "widgets" };
let hosts: PlatformHosts;
let repoUrl: string;

beforeAll(async () => {
  double = await startGitHubDouble();
  double.createRepo("acme", "widgets");
  double.createRepo("acme", "elsewhere");
  app = double.createApp("optio-app");
  double.installApp(app.appId, [repo]);
  hosts = new PlatformHosts({ githubUrl: double.webUrl });
  repoUrl = `${double.webUrl}/acme/widgets`;
});
afterAll(() => double.close());
afterEach(() => double.setInstallationTokenTtl(3600));

const appSecrets = (privateKey = app.privateKey) =>
  new StaticSecretReader({ GITHUB_APP_ID: app.appId, GITHUB_APP_PRIVATE_KEY: privateKey });

function platformsWith(secrets: StaticSecretReader, appTokens = new AppInstallationTokens({ logger })) {
  return new GitPlatforms({ hosts, secrets, logger, backoff: { unitMs: 10 }, appTokens });
}

const clientFor = async (platforms: GitPlatforms, url = repoUrl) =>
  (await platforms.forRepo({ id: "repo-1", repoUrl: url }))!.platform;

const minted = () => double.installationTokens.length;

it("lists issues and opens a pull request as the App's installation", async () => {
  const before = minted();
  const issue = double.addIssue(repo, { title: "From the App's view" });
  const platform = await clientFor(platformsWith(appSecrets()));
  const { issues } = await platform.listIssues(repo, { state: "open", limit: 10, offset: 0 });
  expect(issues.map((found) => found.number)).toContain(issue.number);

  await double.commit(repo, "optio/app-pr", { path: "app.txt", content: "by the app\n" });
  const pull = await platform.createPull(repo, {
    head: "optio/app-pr",
    base: "main",
    title: "Opened by the App",
    body: "",
    draft: false,
  });
  expect(double.pulls(repo).map((found) => found.number)).toContain(pull.number);
  const created = double.requests.filter(
    (r) => r.method === "POST" && r.path === "/repos/acme/widgets/pulls",
  );
  expect(created.at(-1)).toMatchObject({ status: 201, login: "optio-app[bot]" });
  // The JWT found the installation and minted one token, reused for every call since.
  expect(minted()).toBe(before + 1);
  const appCalls = double.requests.filter((r) => r.login === `app:${app.appId}`).map((r) => r.path);
  expect(appCalls).toEqual(
    expect.arrayContaining([
      "/repos/acme/widgets/installation",
      expect.stringMatching(/^\/app\/installations\/\d+\/access_tokens$/),
    ]),
  );
});

it("uses GITHUB_TOKEN when one applies: the App is the fallback", async () => {
  const before = minted();
  const secrets = new StaticSecretReader({
    GITHUB_TOKEN: double.token,
    GITHUB_APP_ID: app.appId,
    GITHUB_APP_PRIVATE_KEY: app.privateKey,
  });
  const from = double.requests.length;
  await (await clientFor(platformsWith(secrets))).getRepo(repo);
  expect(double.requests.slice(from).map((r) => r.login)).toEqual(["optio-bot"]);
  expect(minted()).toBe(before);
});

it("renews a token shortly before it expires, and one GitHub refused as expired", async () => {
  double.setInstallationTokenTtl(4);
  const platform = await clientFor(
    platformsWith(appSecrets(), new AppInstallationTokens({ logger, refreshMarginMs: 2_000 })),
  );
  const before = minted();
  await platform.getRepo(repo);
  await platform.getRepo(repo);
  expect(minted()).toBe(before + 1);

  // Less than the margin left: a new token before the old one runs out.
  await new Promise((resolve) => setTimeout(resolve, 2_200));
  const early = double.requests.length;
  await platform.getRepo(repo);
  expect(minted()).toBe(before + 2);
  expect(double.requests.slice(early).map((r) => `${r.method} ${r.status}`)).toEqual(["POST 201", "GET 200"]);

  // Expired at GitHub while still fresh here: refused once, renewed, answered.
  double.expireInstallationTokens();
  const from = double.requests.length;
  await expect(platform.getRepo(repo)).resolves.toMatchObject({ fullName: "acme/widgets" });
  expect(minted()).toBe(before + 3);
  expect(double.requests.slice(from).map((r) => `${r.method} ${r.status}`)).toEqual([
    "GET 401",
    "POST 201",
    "GET 200",
  ]);
});

describe("a bad App configuration fails clearly, without key material", () => {
  const keyBody = (pem: string) => pem.split("\n").filter((line) => line && !line.startsWith("-----"));

  function expectNoKeyIn(text: string, pem: string) {
    for (const line of keyBody(pem)) expect(text).not.toContain(line.slice(0, 32));
    expect(text).not.toContain("PRIVATE KEY");
  }

  it("a private key that cannot sign", async () => {
    // PEM-shaped, but its body is random bytes: no key at all.
    const label = ["RSA", "PRIVATE", "KEY"].join(" ");
    const garbage = `-----BEGIN ${label}-----\n${randomBytes(33).toString("base64")}\n-----END ${label}-----`;
    const error = await (await clientFor(platformsWith(appSecrets(garbage)))).getRepo(repo).catch((e) => e);
    expect(isPlatformError(error, "auth")).toBe(true);
    expect(error.message).toMatch(
      new RegExp(`GITHUB_APP_PRIVATE_KEY cannot sign for GitHub App ${app.appId}`),
    );
    expectNoKeyIn(`${error.message}\n${error.stack}\n${logLines.join("")}`, garbage);
  });

  it("a private key of another App: GitHub refuses its JWT", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString();
    const error = await (await clientFor(platformsWith(appSecrets(other)))).getRepo(repo).catch((e) => e);
    expect(isPlatformError(error, "auth")).toBe(true);
    expect(error.message).toContain("check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY");
    expectNoKeyIn(`${error.message}\n${error.stack}\n${logLines.join("")}`, other);
    expectNoKeyIn(logLines.join(""), app.privateKey);
  });

  it("an App not installed on the repository", async () => {
    const error = await (
      await clientFor(platformsWith(appSecrets()), `${double.webUrl}/acme/elsewhere`)
    )
      .getRepo({ owner: "acme", name: "elsewhere" })
      .catch((e) => e);
    expect(isPlatformError(error, "not_configured")).toBe(true);
    expect(error.message).toContain(`GitHub App ${app.appId} is not installed on acme/elsewhere`);
  });
});

describe("a run's git credential", () => {
  // Made when used: `hosts` is set in beforeAll.
  const credentials = () =>
    new PlatformGitCredentials({ hosts, appTokens: new AppInstallationTokens({ logger }), logger });
  const lsRemote = (token: string) =>
    run(
      "git",
      ["ls-remote", `${double.webUrl.replace("://", `://x-access-token:${token}@`)}/acme/widgets.git`],
      {
        env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
      },
    );

  it("is an installation token git accepts as x-access-token, until it expires", async () => {
    const credential = await credentials().forRepo({ id: "repo-1", repoUrl }, appSecrets());
    expect(credential).toEqual({
      source: "inline",
      username: "x-access-token",
      secret: double.installationTokens.at(-1)!.token,
    });
    const secret = (credential as { secret: string }).secret;
    expect(secret).toMatch(/^ghs_/);
    const { stdout } = await lsRemote(secret);
    expect(stdout).toContain("refs/heads/main");

    double.expireInstallationTokens();
    await expect(lsRemote(secret)).rejects.toThrow();
  });

  it("is the stored token when one applies, and none on a plain git host without one", async () => {
    const both = new StaticSecretReader({
      GITHUB_TOKEN: double.token,
      GITHUB_APP_ID: app.appId,
      GITHUB_APP_PRIVATE_KEY: app.privateKey,
    });
    expect(await credentials().forRepo({ id: "repo-1", repoUrl }, both)).toEqual({
      source: "inline",
      username: "x-access-token",
      secret: double.token,
    });
    const plain = { id: "repo-2", repoUrl: "https://git.example.com/acme/widgets" };
    expect(await credentials().forRepo(plain, appSecrets())).toEqual({ source: "none" });
  });
});

it("stored through the API (one line: newlines as \\n, or base64), the App serves the Issues API", async () => {
  const ctx = await createTestContext({ config: { OPTIO_GITHUB_URL: double.webUrl } });
  try {
    const admin = { authorization: `Bearer ${await ctx.adminToken()}` };
    const store = (name: string, value: string) =>
      ctx.http.post("/api/secrets").set(admin).send({ name, value }).expect(201);
    // The App id is short (not secret, so not held to the 8-character minimum) but must be a number.
    for (const [name, value] of [
      ["GITHUB_APP_ID", "optio-app"],
      ["GITHUB_TOKEN", app.appId],
    ]) {
      const refused = await ctx.http.post("/api/secrets").set(admin).send({ name, value }).expect(400);
      expect(refused.body.details).toEqual([expect.objectContaining({ path: "body.value" })]);
    }
    await store("GITHUB_APP_ID", app.appId);
    await store("GITHUB_APP_PRIVATE_KEY", app.privateKey.trim().replace(/\n/g, "\\n"));
    const setup = await ctx.http.get("/api/setup/status").expect(200);
    expect(setup.body.steps.find((step: { id: string }) => step.id === "gitToken").done).toBe(true);

    const issue = double.addIssue(repo, { title: "Seen through the API" });
    const connected = await ctx.http.post("/api/repos").set(admin).send({ repoUrl }).expect(201);
    expect(connected.body.repo).toMatchObject({ fullName: "acme/widgets", defaultBranch: "main" });
    const listed = await ctx.http.get(`/api/issues?repoId=${connected.body.repo.id}`).set(admin).expect(200);
    expect(listed.body.failedRepos).toEqual([]);
    expect(listed.body.issues.map((found: { number: number }) => found.number)).toContain(issue.number);

    await store("GITHUB_APP_PRIVATE_KEY", Buffer.from(app.privateKey).toString("base64"));
    const again = await ctx.http.get(`/api/issues?repoId=${connected.body.repo.id}`).set(admin).expect(200);
    expect(again.body.failedRepos).toEqual([]);
  } finally {
    await ctx.close();
  }
});
