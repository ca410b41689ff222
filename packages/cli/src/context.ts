// What every command action needs: the output mode, the environment and a client for the server
// chosen by flags, environment or the stored login.
import type { Command } from "commander";
import { resolveConnection, type CliEnv } from "./config";
import { OptioClient } from "./http-client";
import { createOutput, type Output } from "./output";

export type GlobalOptions = { server?: string; apiKey?: string; json?: boolean };

export type CommandContext = { out: Output; env: CliEnv; client: () => OptioClient; globals: GlobalOptions };

export function contextOf(command: Command, env: CliEnv): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return {
    out: createOutput(Boolean(globals.json), env),
    env,
    globals,
    client: () => new OptioClient(resolveConnection(globals, env)),
  };
}

/** Reads all of stdin (secret values, tokens: never from argv, where `ps` and shell history see them). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}
