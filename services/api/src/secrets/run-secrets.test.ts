import { agentSecretEnv, RunSecrets, StoredTokenGitCredentials } from "./run-secrets";
import type { SecretReader } from "./secret-reader";

const all = {
  ANTHROPIC_API_KEY: "anthropic-value",
  CLAUDE_CODE_OAUTH_TOKEN: "oauth-value",
  OPENAI_API_KEY: "openai-value",
  GITHUB_TOKEN: "git-value",
  OTHER_SECRET: "other-value",
};

describe("agentSecretEnv", () => {
  it("gives each agent its own keys and nothing else", () => {
    expect(agentSecretEnv("claude", all)).toEqual({
      ANTHROPIC_API_KEY: "anthropic-value",
      CLAUDE_CODE_OAUTH_TOKEN: "oauth-value",
    });
    expect(agentSecretEnv("codex", all)).toEqual({ OPENAI_API_KEY: "openai-value" });
    expect(agentSecretEnv("shell", all)).toEqual({});
  });

  it("leaves out keys that are not stored", () => {
    expect(
      agentSecretEnv("claude", { CLAUDE_CODE_OAUTH_TOKEN: "oauth-value", ANTHROPIC_API_KEY: null }),
    ).toEqual({ CLAUDE_CODE_OAUTH_TOKEN: "oauth-value" });
    expect(agentSecretEnv("codex", {})).toEqual({});
  });
});

describe("RunSecrets", () => {
  // A repo's own value wins over the global one, as the store resolves it.
  const stored: Record<string, Record<string, string>> = {
    global: { GITHUB_TOKEN: "global-git", ANTHROPIC_API_KEY: "global-anthropic" },
    "repo-1": { GITHUB_TOKEN: "repo-git" },
  };
  const reader: SecretReader = {
    resolve: async (name, repoId) => (repoId && stored[repoId]?.[name]) || stored.global![name] || null,
  };
  const secrets = new RunSecrets({ secrets: reader, git: new StoredTokenGitCredentials(reader) });

  it("sends the repo's git token, else the global one, as an inline credential", async () => {
    expect(await secrets.forRun("claude", { id: "repo-1", repoUrl: "u" })).toEqual({
      secretEnv: { ANTHROPIC_API_KEY: "global-anthropic" },
      gitCredential: { source: "inline", username: "x-access-token", secret: "repo-git" },
    });
    expect((await secrets.forRun("shell", null)).gitCredential).toEqual({
      source: "inline",
      username: "x-access-token",
      secret: "global-git",
    });
  });

  it("sends no credential when none is stored", async () => {
    const empty = { resolve: async () => null };
    const none = new RunSecrets({ secrets: empty, git: new StoredTokenGitCredentials(empty) });
    expect(await none.forRun("codex", null)).toEqual({ secretEnv: {}, gitCredential: { source: "none" } });
  });
});
