// What an operator still has to do: the first admin, a git token and at least one agent credential,
// judged by which secret names exist (values are never read here).
import type { SetupStep } from "@optio/contracts";
import {
  GITHUB_APP_ID_SECRET,
  GITHUB_APP_PRIVATE_KEY_SECRET,
  GITHUB_TOKEN_SECRET,
} from "../platform/github/github-credentials";

const AGENT_CREDENTIALS = [
  { id: "anthropicKey", name: "ANTHROPIC_API_KEY", title: "Anthropic API key (ANTHROPIC_API_KEY)" },
  {
    id: "claudeOAuthToken",
    name: "CLAUDE_CODE_OAUTH_TOKEN",
    title: "Claude OAuth token (CLAUDE_CODE_OAUTH_TOKEN)",
  },
  { id: "openaiKey", name: "OPENAI_API_KEY", title: "OpenAI API key (OPENAI_API_KEY)" },
] as const;

export class SetupStatusService {
  private readonly users: { isSetUp(): Promise<boolean> };
  private readonly secrets: { names(): Promise<Set<string>> };

  constructor(options: {
    users: { isSetUp(): Promise<boolean> };
    secrets: { names(): Promise<Set<string>> };
  }) {
    this.users = options.users;
    this.secrets = options.secrets;
  }

  async status(): Promise<{ isSetUp: boolean; steps: SetupStep[] }> {
    const [admin, names] = await Promise.all([this.users.isSetUp(), this.secrets.names()]);
    const agents = AGENT_CREDENTIALS.map((c) => ({
      id: c.id,
      title: c.title,
      done: names.has(c.name),
      required: false,
    }));
    const steps: SetupStep[] = [
      { id: "admin", title: "Create the first admin", done: admin, required: true },
      {
        id: "gitToken",
        title: `Git token (${GITHUB_TOKEN_SECRET}) or a GitHub App (${GITHUB_APP_ID_SECRET} and ${GITHUB_APP_PRIVATE_KEY_SECRET})`,
        done:
          names.has(GITHUB_TOKEN_SECRET) ||
          (names.has(GITHUB_APP_ID_SECRET) && names.has(GITHUB_APP_PRIVATE_KEY_SECRET)),
        required: true,
      },
      ...agents,
      {
        id: "anyAgentKey",
        title: "At least one agent credential",
        done: agents.some((step) => step.done),
        required: true,
      },
    ];
    return { isSetUp: steps.every((step) => step.done || !step.required), steps };
  }
}
