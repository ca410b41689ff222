// Where the server and the token come from: flags, then OPTIO_SERVER/OPTIO_TOKEN, then the file
// `optio login` wrote (mode 0600 in the user's config directory).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { UsageError } from "./exit-codes";

export const DEFAULT_SERVER = "http://127.0.0.1:3000";

const StoredCredentials = z.object({ server: z.string().optional(), token: z.string().optional() });
export type StoredCredentials = z.infer<typeof StoredCredentials>;

export type ConnectionFlags = { server?: string; apiKey?: string };
export type Connection = { server: string; token: string | undefined };

/** The environment the CLI reads, captured once at start-up. */
export type CliEnv = {
  OPTIO_SERVER?: string;
  OPTIO_TOKEN?: string;
  XDG_CONFIG_HOME?: string;
  APPDATA?: string;
  CI?: string;
  NO_COLOR?: string;
};

export function credentialsPath(env: CliEnv): string {
  const base =
    env.XDG_CONFIG_HOME ||
    (process.platform === "win32" && env.APPDATA ? env.APPDATA : path.join(os.homedir(), ".config"));
  return path.join(base, "optio", "credentials.json");
}

export function readCredentials(env: CliEnv): StoredCredentials {
  let text: string;
  try {
    text = readFileSync(credentialsPath(env), "utf8");
  } catch {
    return {};
  }
  const parsed = StoredCredentials.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : {};
}

/** Writes the credentials file readable by its owner only (also when it already existed). */
export function writeCredentials(env: CliEnv, credentials: StoredCredentials): string {
  const file = credentialsPath(env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function normaliseServer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--server: not a URL: ${value}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(`--server: must be an http(s) URL: ${value}`);
  return url.toString().replace(/\/+$/, "");
}

export function resolveConnection(flags: ConnectionFlags, env: CliEnv): Connection {
  const stored = readCredentials(env);
  const server = normaliseServer(flags.server ?? env.OPTIO_SERVER ?? stored.server ?? DEFAULT_SERVER);
  // A stored token is only ever sent to the server it was stored for.
  const storedToken = stored.server && normaliseServer(stored.server) === server ? stored.token : undefined;
  return { server, token: flags.apiKey ?? env.OPTIO_TOKEN ?? storedToken };
}
