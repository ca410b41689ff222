// Which secrets a run receives: its agent's keys as environment, and its repo's git credential. Nothing
// else leaves the store for a run, and these travel only in the claim reply.
import type { AgentType, GitCredential } from "@optio/contracts";
import type { SecretReader, StoredSecret } from "./secret-reader";

/**
 * The secret names each agent type receives as environment variables of the same name: its keys,
 * and where it reaches its model (a gateway's base URL; Claude Code's Bedrock and Vertex providers
 * with the variables they read). One agent's names never reach another agent's runs.
 */
export const AGENT_SECRET_NAMES = {
  claude: [
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_USE_BEDROCK",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLOUD_ML_REGION",
    "ANTHROPIC_VERTEX_PROJECT_ID",
  ],
  // Codex ignores OPENAI_BASE_URL in its environment; the adapter makes it a model provider.
  codex: ["OPENAI_API_KEY", "OPENAI_BASE_URL"],
  shell: [],
} as const satisfies Record<AgentType, readonly string[]>;

/** The agent's environment secrets from the values found (absent or null: not given). Pure. */
export function agentSecretEnv(
  agentType: AgentType,
  values: Readonly<Record<string, string | null | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of AGENT_SECRET_NAMES[agentType]) {
    const value = values[name];
    if (value) env[name] = value;
  }
  return env;
}

export type RunRepo = { id: string; repoUrl: string } | null;

/** Where a run's git credential comes from (platform/platform-git-credentials.ts implements it). */
export interface GitCredentialSource {
  /** The credential for `repo`, from the secrets it can see (`secrets`, scoped to it). */
  forRepo(repo: RunRepo, secrets: SecretReader): Promise<GitCredential>;
}

/** Everything secret a run needs, resolved when it is claimed. */
export class RunSecrets {
  private readonly secrets: SecretReader;
  private readonly git: GitCredentialSource;

  constructor(options: { secrets: SecretReader; git: GitCredentialSource }) {
    this.secrets = options.secrets;
    this.git = options.git;
  }

  /**
   * `stored`: the secrets the repo can see, when the caller read them already (the claim reads
   * them in its own statement); else they are read here, once for every name below.
   */
  async forRun(
    agentType: AgentType,
    repo: RunRepo,
    stored?: readonly StoredSecret[],
  ): Promise<{ secretEnv: Record<string, string>; gitCredential: GitCredential }> {
    const repoId = repo?.id ?? null;
    const secrets = stored ? this.secrets.scopeFrom(repoId, stored) : await this.secrets.scope(repoId);
    const names = AGENT_SECRET_NAMES[agentType];
    const values = await Promise.all(names.map((name) => secrets.resolve(name, repoId)));
    return {
      secretEnv: agentSecretEnv(agentType, Object.fromEntries(names.map((name, i) => [name, values[i]]))),
      gitCredential: await this.git.forRepo(repo, secrets),
    };
  }
}
