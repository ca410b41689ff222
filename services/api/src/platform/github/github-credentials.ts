// Which GitHub credential applies to a repository. The token GITHUB_TOKEN wins (the repo's own, else
// the global one); without one, a GitHub App (GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, each the
// repo's own else the global one) acts through its installation on the repository.
import type { SecretReader } from "../../secrets/secret-reader";
import type { AppCredentials } from "./app-installation-tokens";

export const GITHUB_TOKEN_SECRET = "GITHUB_TOKEN";
export const GITHUB_APP_ID_SECRET = "GITHUB_APP_ID";
export const GITHUB_APP_PRIVATE_KEY_SECRET = "GITHUB_APP_PRIVATE_KEY";

export type GitHubCredential = { kind: "token"; token: string } | { kind: "app"; app: AppCredentials };

export async function githubCredential(
  secrets: SecretReader,
  repoId: string | null,
): Promise<GitHubCredential | null> {
  const token = await secrets.resolve(GITHUB_TOKEN_SECRET, repoId);
  if (token) return { kind: "token", token };
  const [appId, privateKey] = await Promise.all([
    secrets.resolve(GITHUB_APP_ID_SECRET, repoId),
    secrets.resolve(GITHUB_APP_PRIVATE_KEY_SECRET, repoId),
  ]);
  return appId && privateKey ? { kind: "app", app: { appId: appId.trim(), privateKey } } : null;
}

export const NO_CREDENTIAL_HINT = `store ${GITHUB_TOKEN_SECRET}, or ${GITHUB_APP_ID_SECRET} and ${GITHUB_APP_PRIVATE_KEY_SECRET} (global or for this repo)`;
