// optio repo add|list|show|update|remove
import { Command } from "commander";
import { OkResponse, RepoListResponse, RepoResponse, type Repo } from "@optio/contracts";
import type { CliEnv } from "../config";
import { contextOf } from "../context";
import { UsageError } from "../exit-codes";
import { printResult, table } from "../output";
import { AGENTS, integer, oneOf, uuid } from "../parsers";

const BOOL = ["true", "false"] as const;

/** The settings flags shared by add and update. */
function settingsOptions(command: Command): Command {
  return command
    .option("--default-branch <branch>", "branch tasks start from")
    .option("--agent <type>", "default agent", oneOf(AGENTS))
    .option("--max-concurrent <n>", "tasks running at once (1–100)", integer(1, 100))
    .option("--max-attempts <n>", "runs per task at most (1–20)", integer(1, 20))
    .option("--run-timeout <seconds>", "run timeout (60–86400)", integer(60, 86_400))
    .option("--image <image>", "agent container image")
    .option("--auto-merge <bool>", "merge passing pull requests", oneOf(BOOL))
    .option("--review <bool>", "review pull requests with an agent", oneOf(BOOL))
    .option("--auto-resume <bool>", "resume the agent on CI failures and review comments", oneOf(BOOL))
    .option("--auto-import-issues <bool>", "turn issues labelled optio into tasks on their own", oneOf(BOOL));
}

type SettingsFlags = {
  defaultBranch?: string;
  agent?: string;
  maxConcurrent?: number;
  maxAttempts?: number;
  runTimeout?: number;
  image?: string;
  autoMerge?: "true" | "false";
  review?: "true" | "false";
  autoResume?: "true" | "false";
  autoImportIssues?: "true" | "false";
};

function settingsBody(flags: SettingsFlags): Record<string, unknown> {
  const bool = (v?: string) => (v === undefined ? undefined : v === "true");
  const body = {
    defaultBranch: flags.defaultBranch,
    defaultAgentType: flags.agent,
    maxConcurrentTasks: flags.maxConcurrent,
    maxAttempts: flags.maxAttempts,
    runTimeoutSeconds: flags.runTimeout,
    image: flags.image,
    autoMerge: bool(flags.autoMerge),
    reviewEnabled: bool(flags.review),
    autoResume: bool(flags.autoResume),
    autoImportIssues: bool(flags.autoImportIssues),
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

function describeRepo(repo: Repo): string {
  return Object.entries(repo)
    .map(([key, value]) => `${key.padEnd(19)}${String(value)}`)
    .join("\n");
}

export function repoCommands(env: CliEnv): Command {
  const repo = new Command("repo").description("repositories tasks run against (changes need admin)");

  settingsOptions(
    repo.command("add").description("connect a repository").argument("<url>", "git URL"),
  ).action(async (url: string, flags: SettingsFlags, command: Command) => {
    const ctx = contextOf(command, env);
    const result = await ctx
      .client()
      .request(RepoResponse, "POST", "/api/repos", { body: { repoUrl: url, ...settingsBody(flags) } });
    printResult(ctx.out, result, () => result.repo.id);
  });

  repo
    .command("list")
    .alias("ls")
    .description("connected repositories")
    .option("--limit <n>", "page size", integer(1, 1000), 50)
    .option("--offset <n>", "skip this many", integer(0, 1_000_000), 0)
    .action(async (flags: { limit: number; offset: number }, command: Command) => {
      const ctx = contextOf(command, env);
      const page = await ctx.client().request(RepoListResponse, "GET", "/api/repos", { query: flags });
      printResult(ctx.out, page, () =>
        table([
          ["ID", "REPOSITORY", "BRANCH", "AGENT"],
          ...page.repos.map((r) => [r.id, r.repoUrl, r.defaultBranch, r.defaultAgentType]),
        ]),
      );
    });

  repo
    .command("show")
    .description("a repository and its settings")
    .argument("<id>", "repository id", uuid)
    .action(async (id: string, _flags, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(RepoResponse, "GET", `/api/repos/${id}`);
      printResult(ctx.out, result, () => describeRepo(result.repo));
    });

  settingsOptions(
    repo.command("update").description("change repository settings").argument("<id>", "repository id", uuid),
  ).action(async (id: string, flags: SettingsFlags, command: Command) => {
    const ctx = contextOf(command, env);
    const body = settingsBody(flags);
    if (Object.keys(body).length === 0)
      throw new UsageError("repo update: give at least one setting to change");
    const result = await ctx.client().request(RepoResponse, "PATCH", `/api/repos/${id}`, { body });
    printResult(ctx.out, result, () => describeRepo(result.repo));
  });

  repo
    .command("remove")
    .alias("rm")
    .description("disconnect a repository")
    .argument("<id>", "repository id", uuid)
    .action(async (id: string, _flags, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(OkResponse, "DELETE", `/api/repos/${id}`);
      printResult(ctx.out, result, () => `removed ${id}`);
    });

  return repo;
}
