// optio issue list|assign: a repository's GitHub issues, and turning one into a task.
import { Command } from "commander";
import { IssueListResponse, IssueStateFilter, TaskResponse } from "@optio/contracts";
import type { CliEnv } from "../config";
import { contextOf } from "../context";
import { printResult, table } from "../output";
import { AGENTS, integer, oneOf, uuid } from "../parsers";

export function issueCommands(env: CliEnv): Command {
  const issue = new Command("issue").description("a repository's issues, and assigning one to an agent");

  issue
    .command("list")
    .alias("ls")
    .description("issues of a connected repository")
    .requiredOption("--repo <id>", "repository id", uuid)
    .option("--state <state>", "open, closed or all", oneOf(IssueStateFilter.options))
    .action(async (flags: { repo: string; state?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(IssueListResponse, "GET", "/api/issues", {
        query: { repoId: flags.repo, state: flags.state },
      });
      // A repository GitHub would not answer for is reported, not fatal (the API's rule).
      if (!ctx.out.json) {
        for (const failed of result.failedRepos) {
          ctx.out.stderr(`${failed.fullName}: ${failed.error} (${failed.code})`);
        }
      }
      printResult(ctx.out, result, () =>
        table([
          ["#", "STATE", "TASK", "TASK STATE", "TITLE"],
          ...result.issues.map((i) => [
            String(i.number),
            i.state,
            i.optioTask?.taskId ?? "",
            i.optioTask?.state ?? "",
            i.title,
          ]),
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
      const result = await ctx.client().request(TaskResponse, "POST", "/api/issues/assign", {
        body: { repoId: flags.repo, issueNumber, agentType: flags.agent },
      });
      printResult(ctx.out, result, () => result.task.id);
    });

  return issue;
}
