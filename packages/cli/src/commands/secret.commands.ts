// optio secret set|list|rm. A secret's value is read from stdin, never from argv (which `ps`, shell
// history and CI logs can show).
import { Command } from "commander";
import { OkResponse, SecretListResponse, SecretResponse } from "@optio/contracts";
import type { CliEnv } from "../config";
import { contextOf, readStdin } from "../context";
import { UsageError } from "../exit-codes";
import { printResult, table } from "../output";

export function secretCommands(env: CliEnv): Command {
  const secret = new Command("secret").description("secrets runs receive (admin); values are write-only");

  secret
    .command("set")
    .description("create or replace a secret; the value is read from stdin")
    .argument("<name>", "secret name, e.g. GITHUB_TOKEN")
    .option("--scope <scope>", "where it applies (default: global)")
    .action(async (name: string, flags: { scope?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      if (process.stdin.isTTY) ctx.out.stderr(`value for ${name} (end with Ctrl-D):`);
      const value = await readStdin();
      if (!value) throw new UsageError("secret set: the value (stdin) is empty");
      const result = await ctx
        .client()
        .request(SecretResponse, "POST", "/api/secrets", { body: { name, value, scope: flags.scope } });
      printResult(ctx.out, result, () => `saved ${name}`);
    });

  secret
    .command("list")
    .alias("ls")
    .description("secret names (never values)")
    .action(async (_flags, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(SecretListResponse, "GET", "/api/secrets");
      printResult(ctx.out, result, () =>
        table([["NAME", "SCOPE", "UPDATED"], ...result.secrets.map((s) => [s.name, s.scope, s.updatedAt])]),
      );
    });

  secret
    .command("rm")
    .alias("remove")
    .description("delete a secret")
    .argument("<name>", "secret name")
    .option("--scope <scope>", "the secret's scope")
    .action(async (name: string, flags: { scope?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx
        .client()
        .request(OkResponse.partial(), "DELETE", `/api/secrets/${encodeURIComponent(name)}`, {
          query: { scope: flags.scope },
        });
      printResult(ctx.out, result, () => `removed ${name}`);
    });

  return secret;
}
