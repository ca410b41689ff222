import { readFileSync } from "node:fs";
import { z } from "zod";
import type { GitCredentialValue } from "./run-plan";

const CredentialsFile = z.record(
  z.string().min(1),
  z.object({ username: z.string().min(1).default("x-access-token"), secret: z.string().min(1) }),
);

/** Named git credentials from OPTIO_RUNNER_GIT_CREDENTIALS (a JSON file), read once at boot. */
export function loadGitCredentials(file: string | undefined): Record<string, GitCredentialValue> {
  if (!file) return {};
  const parsed = CredentialsFile.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success)
    throw new Error(`invalid ${file}: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  return parsed.data;
}
