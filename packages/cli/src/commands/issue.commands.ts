// optio issue list|assign: a repository's GitHub issues, and turning one into a task.
import { Command } from "commander";
import type { CliEnv } from "../config";
import { contextOf } from "../context";
import { printResult, table } from "../output";
import { AGENTS, integer, oneOf, uuid } from "../parsers";
import { IssueAssignResponse, IssueListResponse } from "../pending-contracts";

export function issueCommands(env: CliEnv): Command {
  const issue = new Command("issue").description("a repository's issues, and assigning one to an agent");

  issue
    .command("list")
    .alias("ls")
    .description("issues of a connected repository")
    .requiredOption("--repo <id>", "repository id", uuid)
    .option("--state <state>", "open, closed or all", oneOf(["open", "closed", "all"] as const))
    .action(async (flags: { repo: string; state?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(IssueListResponse, "GET", "/api/issues", {
        query: { repoId: flags.repo, state: flags.state },
      });
      printResult(ctx.out, result, () =>
        table([
          ["#", "STATE", "TASK", "TITLE"],
          ...result.issues.map((i) => [String(i.number), i.state ?? "", i.taskId ?? "", i.title]),
        ]),
      );
    });

  issue
    .command("assign")
    .description("create a task from an issue")
    .argument("<number>", "issue number", integer(1, 2 ** 31 - 1))
    .requiredOption("--repo <id>", "repository id", uuid)
    .option("--agent <type>", "agent type", oneOf(AGENTS))
    .action(async (issueNumber: number, flags: { repo: string; agent?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(IssueAssignResponse, "POST", "/api/issues/assign", {
        body: { repoId: flags.repo, issueNumber, agentType: flags.agent },
      });
      printResult(ctx.out, result, () => result.task.id);
    });

  return issue;
}
