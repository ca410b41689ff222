// Wires the secret store and what depends on it; services.ts (main and tests) calls createSecrets.
import type { ApiConfig } from "../config";
import type { PrismaClient } from "../db/prisma";
import type { Outbox } from "../events/outbox";
import { CredentialValidator } from "../setup/credential-validator";
import { RunSecrets, type GitCredentialSource } from "./run-secrets";
import { SecretCipher } from "./secret-cipher";
import { SecretStore } from "./secret.store";
import { StoredSecretsRedactor } from "./stored-secrets-redactor";

export type Secrets = {
  store: SecretStore;
  /** Encrypts other stored credentials (webhook signing secrets) with the same key. */
  cipher: SecretCipher;
  runSecrets: RunSecrets;
  redaction: StoredSecretsRedactor;
  validator: CredentialValidator;
};

export function createSecrets(deps: {
  config: Pick<
    ApiConfig,
    "OPTIO_SECRET_KEY" | "OPTIO_SECRET_KEY_PREVIOUS" | "OPTIO_LOG_SECRETS" | "OPTIO_ANTHROPIC_API_URL"
  >;
  prisma: PrismaClient;
  outbox: Outbox;
  /** The GitHub API the token validator probes (see PlatformHosts.githubApiUrl). */
  githubApiUrl: string;
  /** Where runs' git credentials come from. */
  gitCredentials: GitCredentialSource;
}): Secrets {
  const { config } = deps;
  const cipher = new SecretCipher({
    key: config.OPTIO_SECRET_KEY,
    previousKey: config.OPTIO_SECRET_KEY_PREVIOUS,
  });
  const store = new SecretStore({ prisma: deps.prisma, outbox: deps.outbox, cipher });
  const redaction = new StoredSecretsRedactor({ secrets: store, extraValues: config.OPTIO_LOG_SECRETS });
  store.onChange(() => redaction.invalidate());
  return {
    store,
    cipher,
    runSecrets: new RunSecrets({ secrets: store, git: deps.gitCredentials }),
    redaction,
    validator: new CredentialValidator({
      githubApiUrl: deps.githubApiUrl,
      anthropicApiUrl: config.OPTIO_ANTHROPIC_API_URL,
    }),
  };
}
