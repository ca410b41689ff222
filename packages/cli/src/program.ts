// The command tree. Usage errors (unknown command or option, bad value, missing argument) exit 64.
import { Command, CommanderError } from "commander";
import type { CliEnv } from "./config";
import { CliError, ExitCode } from "./exit-codes";
import { accountCommands } from "./commands/account.commands";
import { issueCommands } from "./commands/issue.commands";
import { repoCommands } from "./commands/repo.commands";
import { secretCommands } from "./commands/secret.commands";
import { taskCommands } from "./commands/task.commands";
import { webhookCommands } from "./commands/webhook.commands";
import { CLI_VERSION } from "./version";

/** Set by commands that end with a computed code (task wait); ends the run after the action. */
class ExitRequest extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function buildProgram(env: CliEnv): Command {
  const exit = (code: number) => {
    throw new ExitRequest(code);
  };
  const program = new Command("optio")
    .description("Optio from the command line and from CI: create tasks, wait for them, inspect runs")
    .version(CLI_VERSION, "-V, --version", "the client's version (`optio version` also asks the server)")
    .option(
      "--server <url>",
      "API base URL (env OPTIO_SERVER; default: the stored login, else http://127.0.0.1:3000)",
    )
    .option("--api-key <token>", "API token (env OPTIO_TOKEN; default: the stored login)")
    .option("--json", "machine-readable output: one JSON document on stdout")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  program.addCommand(taskCommands(env, exit));
  program.addCommand(repoCommands(env));
  program.addCommand(secretCommands(env));
  program.addCommand(issueCommands(env));
  program.addCommand(webhookCommands(env));
  for (const command of accountCommands(env)) program.addCommand(command);
  // addCommand() does not copy settings to commands built elsewhere: apply them to the whole tree.
  const configure = (command: Command) => {
    command.exitOverride().showHelpAfterError("(add --help for usage)");
    command.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs the CLI and returns the process exit code; never throws. */
export async function runCli(argv: string[], env: CliEnv): Promise<number> {
  const program = buildProgram(env);
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ExitRequest) return error.code;
    if (error instanceof CommanderError) {
      // Commander already printed the message (or the help/version text).
      return ["commander.helpDisplayed", "commander.help", "commander.version"].includes(error.code)
        ? ExitCode.ok
        : ExitCode.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`optio: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`optio: ${error instanceof Error ? error.stack : String(error)}\n`);
    return ExitCode.failed;
  }
}
