import pino from "pino";
import { AppInstallationTokens } from "../platform/github/app-installation-tokens";
import { PlatformGitCredentials } from "../platform/platform-git-credentials";
import { PlatformHosts } from "../platform/platform-hosts";
import { agentSecretEnv, RunSecrets } from "./run-secrets";
import { testSecret } from "../../../runner/src/testing/fixtures";
import { StaticSecretReader } from "./static-secret-reader";

// Generated values: no credential-shaped literal in the repository.
const anthropic = testSecret("anthropic-");
const oauth = testSecret("oauth-");
const openai = testSecret("openai-");
const all = {
  ANTHROPIC_API_KEY: anthropic,
  CLAUDE_CODE_OAUTH_TOKEN: oauth,
  OPENAI_API_KEY: openai,
  GITHUB_TOKEN: testSecret("git-"),
  OTHER_SECRET: testSecret("other-"),
};
const globalGit = testSecret("global-git-");
const repoGit = testSecret("repo-git-");
const globalAnthropic = testSecret("global-anthropic-");

describe("agentSecretEnv", () => {
  it("gives each agent its own keys and nothing else", () => {
    expect(agentSecretEnv("claude", all)).toEqual({
      ANTHROPIC_API_KEY: anthropic,
      CLAUDE_CODE_OAUTH_TOKEN: oauth,
    });
    expect(agentSecretEnv("codex", all)).toEqual({ OPENAI_API_KEY: openai });
    expect(agentSecretEnv("shell", all)).toEqual({});
  });

  it("leaves out keys that are not stored", () => {
    expect(agentSecretEnv("claude", { CLAUDE_CODE_OAUTH_TOKEN: oauth, ANTHROPIC_API_KEY: null })).toEqual({
      CLAUDE_CODE_OAUTH_TOKEN: oauth,
    });
    expect(agentSecretEnv("codex", {})).toEqual({});
  });
});

const logger = pino({ level: "silent" });
/** The git credentials of runs as the API wires them (no GitHub App here: stored tokens only). */
const gitCredentials = () =>
  new PlatformGitCredentials({
    hosts: new PlatformHosts({}),
    appTokens: new AppInstallationTokens({ logger }),
    logger,
  });

describe("RunSecrets", () => {
  // A repo's own value wins over the global one, as the store resolves it.
  const reader = new StaticSecretReader(
    { GITHUB_TOKEN: globalGit, ANTHROPIC_API_KEY: globalAnthropic },
    { "repo-1": { GITHUB_TOKEN: repoGit } },
  );
  const secrets = new RunSecrets({ secrets: reader, git: gitCredentials() });

  it("sends the repo's git token, else the global one, as an inline credential", async () => {
    expect(await secrets.forRun("claude", { id: "repo-1", repoUrl: "u" })).toEqual({
      secretEnv: { ANTHROPIC_API_KEY: globalAnthropic },
      gitCredential: { source: "inline", username: "x-access-token", secret: repoGit },
    });
    expect((await secrets.forRun("shell", null)).gitCredential).toEqual({
      source: "inline",
      username: "x-access-token",
      secret: globalGit,
    });
  });

  it("sends no credential when none is stored", async () => {
    const empty = new StaticSecretReader();
    const none = new RunSecrets({ secrets: empty, git: gitCredentials() });
    expect(await none.forRun("codex", null)).toEqual({ secretEnv: {}, gitCredential: { source: "none" } });
  });
});
