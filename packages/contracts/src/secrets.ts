// Secrets: credentials (git tokens, agent keys) stored encrypted by the API. Values go in, never out:
// responses and events carry names, scopes and timestamps only.
import { z } from "zod";
import { Timestamp } from "./common";

/** Secrets become environment variables of runs, so their names are environment variable names. */
export const SecretName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be letters, digits and '_', not starting with a digit");

/** Values shorter than 8 characters could not be redacted from logs without blanking ordinary words. */
export const SecretValue = z
  .string()
  .min(8, "must be at least 8 characters")
  .max(10_000)
  .refine((value) => !/[\0\r\n]/.test(value), "must be one line");

/** `global`, or the id of a connected repo whose runs alone see it (and prefer it over the global one). */
export const SecretScope = z.union([z.literal("global"), z.uuid()]);
export type SecretScope = z.infer<typeof SecretScope>;

const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .max(2000)
  .refine((url) => !/["\\\s]/.test(url), "must not contain quotes, backslashes or spaces");
const flag = z.enum(["0", "1"], { error: 'must be "0" or "1"' });
const cloudName = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, "must be a cloud region or project id");

/**
 * Stored with the secrets, checked by their own rule instead of SecretValue's: values that are not
 * secret or too short to redact (the redactors ignore values under 8 characters, and nothing else
 * reveals them). A GitHub App's numeric id, and the agents' model endpoint settings: a gateway's
 * base URL, and Claude Code's Bedrock and Vertex switches with their region and project.
 */
export const IDENTIFIER_SECRETS: Record<string, z.ZodType<string>> = {
  GITHUB_APP_ID: z.string().regex(/^\d{1,20}$/, "must be the GitHub App's numeric id"),
  ANTHROPIC_BASE_URL: httpUrl,
  OPENAI_BASE_URL: httpUrl,
  CLAUDE_CODE_USE_BEDROCK: flag,
  CLAUDE_CODE_USE_VERTEX: flag,
  AWS_REGION: cloudName,
  CLOUD_ML_REGION: cloudName,
  ANTHROPIC_VERTEX_PROJECT_ID: cloudName,
};

export const SetSecretBody = z
  .strictObject({
    name: SecretName,
    value: z.string().max(10_000),
    scope: SecretScope.default("global"),
  })
  .superRefine((body, ctx) => {
    const rule = Object.hasOwn(IDENTIFIER_SECRETS, body.name) ? IDENTIFIER_SECRETS[body.name]! : SecretValue;
    const result = rule.safeParse(body.value);
    for (const issue of result.error?.issues ?? []) {
      ctx.addIssue({ code: "custom", message: issue.message, path: ["value"] });
    }
  });
export type SetSecretBody = z.output<typeof SetSecretBody>;

export const SecretInfo = z.object({
  name: z.string(),
  scope: z.string().describe('"global" or a repo id'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type SecretInfo = z.infer<typeof SecretInfo>;

/** The stored secret (never its value); `name` and `scope` also at the top, as older clients read them. */
export const SecretResponse = z.object({ secret: SecretInfo, name: z.string(), scope: z.string() });
export const SecretListResponse = z.object({ secrets: z.array(SecretInfo), total: z.number().int() });
export const SecretListQuery = z.object({ scope: SecretScope.optional() });
export const SecretNameParams = z.object({ name: SecretName });
export const SecretScopeQuery = z.object({ scope: SecretScope.default("global") });

export const SecretSetEvent = z.object({
  secretId: z.uuid(),
  name: z.string(),
  scope: z.string(),
  created: z.boolean().describe("false: an existing secret's value was replaced"),
  actorId: z.uuid(),
});
export const SecretDeletedEvent = z.object({
  secretId: z.uuid(),
  name: z.string(),
  scope: z.string(),
  actorId: z.uuid(),
});

/** Events on `optio.secret.<secretId>.<event>` (names and scopes only, never values). */
export const SecretEventPayloads = {
  set: SecretSetEvent,
  deleted: SecretDeletedEvent,
} as const;

// ---------------------------------------------------------------- setup: credentials

export const SetupStep = z.object({
  id: z.string(),
  title: z.string(),
  done: z.boolean(),
  /** Setup is complete when every required step is done. */
  required: z.boolean(),
});
export type SetupStep = z.infer<typeof SetupStep>;

export const ValidateGithubTokenBody = z.strictObject({ token: z.string().min(1).max(10_000) });
export const ValidateAnthropicKeyBody = z.strictObject({ key: z.string().min(1).max(10_000) });

/** A validator's answer: whether the upstream accepted the credential (never the credential itself). */
export const CredentialValidation = z.object({
  valid: z.boolean(),
  error: z.string().optional(),
  user: z.object({ login: z.string(), name: z.string().nullable() }).optional(),
});
export type CredentialValidation = z.infer<typeof CredentialValidation>;
