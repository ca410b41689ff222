// Reading a service's configuration from its environment: shared helpers, one way for every service.
import { z } from "zod";

/** A comma-separated list; blanks dropped, items trimmed. */
export const CsvList = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );

export const LogLevel = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  .default("info");

/** Parses the environment with `schema`, reporting every problem at once. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid configuration:\n${problems.join("\n")}`);
  }
  return result.data;
}

/**
 * How a service authenticates to NATS: a user and its password, given as the value or (better, the
 * value stays out of the environment) a file holding it. Unset: no credentials (a server without
 * authorization only). See @optio/core natsCredentials.
 */
export const NatsCredentialsEnv = {
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  NATS_PASSWORD_FILE: z.string().min(1).optional(),
};
