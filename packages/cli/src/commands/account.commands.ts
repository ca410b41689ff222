// optio login|whoami|runners|version
import { Command } from "commander";
import { HealthResponse, MeResponse, RunnerListResponse } from "@optio/contracts";
import { resolveConnection, writeCredentials, type CliEnv } from "../config";
import { contextOf, readStdin } from "../context";
import { UsageError } from "../exit-codes";
import { OptioClient } from "../http-client";
import { printResult, table } from "../output";
import { CLI_VERSION } from "../version";

export function accountCommands(env: CliEnv): Command[] {
  const login = new Command("login")
    .description(
      "check an API token and store it (with the server) in the user's config directory, mode 0600",
    )
    .option("--token <token>", "the API token (`-`, or omitted: read from stdin)")
    .action(async (flags: { token?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      const token = !flags.token || flags.token === "-" ? (await readStdin()).trim() : flags.token;
      if (!token) throw new UsageError("login: no token given (--token, or on stdin)");
      const { server } = resolveConnection(ctx.globals, env);
      const { user } = await new OptioClient({ server, token }).request(MeResponse, "GET", "/api/auth/me");
      const file = writeCredentials(env, { server, token });
      printResult(
        ctx.out,
        { user, server, credentialsFile: file },
        () => `logged in to ${server} as ${user.email} (saved in ${file})`,
      );
    });

  const whoami = new Command("whoami")
    .description("the user the token belongs to")
    .action(async (_flags, command: Command) => {
      const ctx = contextOf(command, env);
      const client = ctx.client();
      const { user } = await client.request(MeResponse, "GET", "/api/auth/me");
      const name = user.displayName ?? user.name;
      printResult(
        ctx.out,
        { user, server: client.server },
        () => `${name ? `${name} <${user.email}>` : user.email}  ${user.role}  on ${client.server}`,
      );
    });

  const runners = new Command("runners")
    .description("live runners and their slots")
    .action(async (_flags, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(RunnerListResponse, "GET", "/api/runners");
      printResult(ctx.out, result, () =>
        table([
          ["RUNNER", "HOST", "DRIVER", "SLOTS", "AGENTS", "LAST SEEN"],
          ...result.runners.map((r) => [
            r.runnerId + (r.stopping ? " (stopping)" : ""),
            r.host,
            r.driver,
            `${r.slots.busy}/${r.slots.total}`,
            r.agentTypes.join(","),
            r.lastHeartbeatAt,
          ]),
        ]),
      );
    });

  const version = new Command("version")
    .description("client and server versions")
    .action(async (_flags, command: Command) => {
      const ctx = contextOf(command, env);
      const client = ctx.client();
      const health = await client.request(HealthResponse, "GET", "/api/health");
      printResult(
        ctx.out,
        { client: CLI_VERSION, server: health.version, serverStatus: health.status },
        () => `client ${CLI_VERSION}\nserver ${health.version} (${health.status}) at ${client.server}`,
      );
    });

  return [login, whoami, runners, version];
}
