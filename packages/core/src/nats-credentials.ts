// A service's NATS credentials from its configuration (NatsCredentialsEnv in @optio/contracts):
// read once at boot, passed to the connection, never logged.
import { readFileSync } from "node:fs";

export type NatsCredentials = { user: string; pass: string };

export type NatsCredentialsConfig = {
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  NATS_PASSWORD_FILE?: string;
};

/**
 * The user and password to connect with, or undefined when none is configured. `defaultUser` is
 * the service's own identity (the API's, or `runner-<id>`), used when only a password is given.
 */
export function natsCredentials(
  config: NatsCredentialsConfig,
  defaultUser: string,
): NatsCredentials | undefined {
  if (config.NATS_PASSWORD && config.NATS_PASSWORD_FILE)
    throw new Error("NATS_PASSWORD and NATS_PASSWORD_FILE are both set: choose one");
  const pass = config.NATS_PASSWORD_FILE ? readPasswordFile(config.NATS_PASSWORD_FILE) : config.NATS_PASSWORD;
  if (!pass) {
    if (config.NATS_USER) throw new Error("NATS_USER is set without NATS_PASSWORD or NATS_PASSWORD_FILE");
    return undefined;
  }
  return { user: config.NATS_USER ?? defaultUser, pass };
}

function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`NATS_PASSWORD_FILE ${file}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
  const pass = text.replace(/\r?\n$/, "");
  if (!pass) throw new Error(`NATS_PASSWORD_FILE ${file} is empty`);
  return pass;
}

/** A NATS URL as it may be logged: any user or password in it replaced. */
export function natsUrlForLogs(url: string): string {
  return url.replace(/\/\/[^/@]*@/g, "//[REDACTED]@");
}
