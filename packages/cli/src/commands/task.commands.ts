// optio task new|list|show|wait|cancel|retry|resume|message|review|logs
import { Command, Option } from "commander";
import type { z } from "zod";
import {
  RepoResponse,
  ReviewResponse,
  TaskState,
  TaskDetailResponse,
  TaskListResponse,
  TaskLogsResponse,
  SendMessageResponse,
  TaskResponse,
  type Task,
  type TaskLogEntry,
} from "@optio/contracts";
import type { CliEnv } from "../config";
import { contextOf, readStdin, type CommandContext } from "../context";
import type { OptioClient } from "../http-client";
import { paint, printResult, stateColour, table, type Output } from "../output";
import { AGENTS, duration, integer, keyValue, list, oneOf, UUID, uuid } from "../parsers";
import { waitForTask, type Until } from "../task-wait";

const UNTIL = ["done", "merged"] as const;

type WaitFlags = { wait?: boolean; follow?: boolean; timeout?: number; until: Until };

function waitOptions(command: Command): Command {
  return command
    .option("-f, --follow", "stream the run's log lines while waiting")
    .option("--timeout <duration>", "give up after this long (exit 4): 90s, 15m, 2h", duration)
    .addOption(
      new Option("--until <when>", "done: completed or PR opened; merged: completed only")
        .argParser(oneOf(UNTIL))
        .default("done"),
    );
}

/** Waits and ends the process with the state's exit code; prints the final task. */
async function waitAndExit(ctx: CommandContext, taskId: string, flags: WaitFlags): Promise<number> {
  const client = ctx.client();
  const result = await waitForTask(client, ctx.out, taskId, {
    timeoutMs: flags.timeout,
    until: flags.until,
    follow: Boolean(flags.follow),
  });
  const { task } = await client.request(TaskResponse, "GET", `/api/tasks/${taskId}`);
  printResult(ctx.out, { task, exitCode: result.exitCode, timedOut: result.timedOut }, () =>
    result.timedOut ? `${describe(ctx.out, task)}  (timed out)` : describe(ctx.out, task),
  );
  return result.exitCode;
}

function describe(out: Output, task: Task): string {
  const parts = [`${task.id}  ${paint(out, stateColour(task.state), task.state)}  ${task.title}`];
  if (task.prUrl) parts.push(`  PR: ${task.prUrl}`);
  if (task.errorMessage) parts.push(`  error: ${task.errorMessage}`);
  return parts.join("\n");
}

function showTask(out: Output, detail: z.output<typeof TaskDetailResponse>): string {
  const { task } = detail;
  const rows: [string, string | null | undefined][] = [
    ["id", task.id],
    ["title", task.title],
    ["state", paint(out, stateColour(task.state), task.state)],
    ["repo", `${task.repoUrl} (${task.repoBranch})`],
    ["agent", task.model ? `${task.agentType} (${task.model})` : task.agentType],
    ["priority", String(task.priority)],
    ["branch", task.branchName],
    ["pr", task.prUrl],
    ["runs", `${task.attempts} of at most ${task.maxAttempts}`],
    ["cost", `$${task.costUsd} (${task.inputTokens} in / ${task.outputTokens} out tokens)`],
    ["pending", detail.pendingReason],
    ["error", task.errorMessage],
    ["result", task.resultSummary],
    ["created", task.createdAt],
  ];
  const head = rows.filter(([, v]) => v).map(([k, v]) => `${k.padEnd(9)}${v}`);
  const runs = detail.runs.map((r) =>
    `  #${r.attempt} ${r.state.padEnd(10)} ${r.runnerId ?? "-"} ${r.exitCode ?? ""} ${r.error ?? ""}`.trimEnd(),
  );
  return [...head, ...(runs.length ? ["runs:", ...runs] : [])].join("\n");
}

/** `<repo>` is a repository URL, or the id of a registered repository. */
async function repoUrlOf(client: OptioClient, repo: string): Promise<string> {
  if (!UUID.test(repo)) return repo;
  return (await client.request(RepoResponse, "GET", `/api/repos/${repo}`)).repo.repoUrl;
}

export function taskCommands(env: CliEnv, exit: (code: number) => void): Command {
  const task = new Command("task").description("create, follow and act on tasks");

  waitOptions(
    task
      .command("new")
      .description("create a task: a prompt against a repository")
      .argument("<repo>", "repository URL or registered repository id")
      .argument("<prompt>", "what the agent should do (`-` reads it from stdin)")
      .option("--title <title>", "title (default: the prompt's first line)")
      .option("--branch <branch>", "base branch (default: the repository's)")
      .option("--agent <type>", `agent: ${AGENTS.join(", ")}`, oneOf(AGENTS))
      .option("--model <model>", "model name for the agent")
      .option("--priority <n>", "0–1000, lower runs sooner", integer(0, 1000))
      .option("--max-retries <n>", "retries after the first run (0–19)", integer(0, 19))
      .option("--depends-on <ids>", "task ids that must complete first (repeatable, comma-separated)", list)
      .option("--metadata <key=value>", "metadata entry (repeatable)", keyValue)
      .option("--idempotency-key <key>", "replays return the task created first instead of a new one")
      .option("-w, --wait", "wait for the task to finish; the exit code tells how it ended"),
  ).action(async (repo: string, prompt: string, flags, command: Command) => {
    const ctx = contextOf(command, env);
    const client = ctx.client();
    const body = {
      repoUrl: await repoUrlOf(client, repo),
      prompt: prompt === "-" ? await readStdin() : prompt,
      title: flags.title,
      repoBranch: flags.branch,
      agentType: flags.agent,
      model: flags.model,
      priority: flags.priority,
      maxRetries: flags.maxRetries,
      dependsOn: flags.dependsOn,
      metadata: flags.metadata,
    };
    const headers: Record<string, string> = flags.idempotencyKey
      ? { "idempotency-key": flags.idempotencyKey }
      : {};
    const { task: created } = await client.request(TaskResponse, "POST", "/api/tasks", { body, headers });
    if (!flags.wait) {
      printResult(ctx.out, { task: created }, () => created.id);
      return;
    }
    if (!ctx.out.json) ctx.out.stderr(`created task ${created.id}`);
    exit(await waitAndExit(ctx, created.id, flags));
  });

  waitOptions(
    task
      .command("wait")
      .description("wait for a task to finish; the exit code tells how it ended")
      .argument("<id>", "task id", uuid),
  ).action(async (id: string, flags: WaitFlags, command: Command) => {
    exit(await waitAndExit(contextOf(command, env), id, flags));
  });

  task
    .command("list")
    .alias("ls")
    .description("list tasks, newest first")
    .option(
      "--state <states>",
      `filter by state (repeatable, comma-separated): ${TaskState.options.join(", ")}`,
      list,
    )
    .option("--repo <repo>", "repository URL or id")
    .option("--agent <type>", "agent type", oneOf(AGENTS))
    .option("-q, --search <text>", "text in title or prompt")
    .option("--limit <n>", "page size (1–1000)", integer(1, 1000), 50)
    .option("--offset <n>", "skip this many", integer(0, 1_000_000), 0)
    .action(async (flags, command: Command) => {
      const ctx = contextOf(command, env);
      const states: string[] = flags.state ?? [];
      const unknown = states.filter((s) => !(TaskState.options as readonly string[]).includes(s));
      if (unknown.length)
        command.error(`error: --state: unknown state ${unknown.join(", ")}`, { exitCode: 64 });
      const repo: string | undefined = flags.repo;
      const page = await ctx.client().request(TaskListResponse, "GET", "/api/tasks", {
        query: {
          state: states.length ? states.join(",") : undefined,
          repoId: repo && UUID.test(repo) ? repo : undefined,
          repoUrl: repo && !UUID.test(repo) ? repo : undefined,
          agentType: flags.agent,
          q: flags.search,
          limit: flags.limit,
          offset: flags.offset,
        },
      });
      printResult(ctx.out, page, () => {
        const rows = page.tasks.map((t) => [
          t.id,
          paint(ctx.out, stateColour(t.state), t.state),
          t.agentType,
          t.title,
        ]);
        const shown = page.tasks.length ? `${page.offset + 1}–${page.offset + page.tasks.length}` : "0";
        return `${table([["ID", "STATE", "AGENT", "TITLE"], ...rows])}\n${shown} of ${page.total}`;
      });
    });

  task
    .command("show")
    .description("a task with its runs")
    .argument("<id>", "task id", uuid)
    .action(async (id: string, _flags, command: Command) => {
      const ctx = contextOf(command, env);
      const detail = await ctx.client().request(TaskDetailResponse, "GET", `/api/tasks/${id}`);
      printResult(ctx.out, detail, () => showTask(ctx.out, detail));
    });

  for (const [name, description] of [
    ["cancel", "cancel a task (stops its run)"],
    ["retry", "retry a failed or cancelled task as a new run"],
  ] as const) {
    task
      .command(name)
      .description(description)
      .argument("<id>", "task id", uuid)
      .action(async (id: string, _flags, command: Command) => {
        const ctx = contextOf(command, env);
        const { task: t } = await ctx
          .client()
          .request(TaskResponse, "POST", `/api/tasks/${id}/${name}`, { body: {} });
        printResult(ctx.out, { task: t }, () => describe(ctx.out, t));
      });
  }

  task
    .command("resume")
    .description("resume a task that needs attention or failed, in the same agent session")
    .argument("<id>", "task id", uuid)
    .option("-m, --message <text>", "new context for the agent (default: continue)")
    .action(async (id: string, flags: { message?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      const body = flags.message ? { prompt: flags.message } : {};
      const { task: t } = await ctx
        .client()
        .request(TaskResponse, "POST", `/api/tasks/${id}/resume`, { body });
      printResult(ctx.out, { task: t }, () => describe(ctx.out, t));
    });

  task
    .command("message")
    .description(
      "send the task's agent a message: live while it runs, else resuming it or kept for its next run",
    )
    .argument("<id>", "task id", uuid)
    .argument("[text...]", "the message (default: read from stdin)")
    .option("--interrupt", "stop the agent's current turn first (Claude Code)")
    .action(async (id: string, words: string[], flags: { interrupt?: boolean }, command: Command) => {
      const ctx = contextOf(command, env);
      const message = words.length > 0 ? words.join(" ") : (await readStdin()).trim();
      const sent = await ctx.client().request(SendMessageResponse, "POST", `/api/tasks/${id}/messages`, {
        body: { message, interrupt: Boolean(flags.interrupt) },
      });
      printResult(ctx.out, sent, () =>
        [`message ${sent.message.id}: ${sent.delivery}`, sent.reason && `  ${sent.reason}`]
          .filter(Boolean)
          .join("\n"),
      );
    });

  task
    .command("review")
    .description("start a review of the task's pull request")
    .argument("<id>", "task id", uuid)
    .action(async (id: string, _flags, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx
        .client()
        .request(ReviewResponse, "POST", `/api/tasks/${id}/review`, { body: {} });
      printResult(ctx.out, result, () => `review task ${result.reviewTaskId}`);
    });

  task
    .command("logs")
    .description("a task's log lines (all runs); -f follows them until the task ends")
    .argument("<id>", "task id", uuid)
    .option("-f, --follow", "keep streaming until the task finishes")
    .action(async (id: string, flags: { follow?: boolean }, command: Command) => {
      const ctx = contextOf(command, env);
      if (flags.follow) {
        const result = await waitForTask(ctx.client(), { ...ctx.out, live: false }, id, {
          until: "done",
          follow: true,
        });
        exit(result.exitCode);
        return;
      }
      const client = ctx.client();
      const all: TaskLogEntry[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await client.request(TaskLogsResponse, "GET", `/api/tasks/${id}/logs`, {
          query: { after, limit: 1000 },
        });
        all.push(...page.logs);
        if (!page.nextCursor || page.logs.length === 0) break;
        after = page.nextCursor;
      }
      printResult(ctx.out, { logs: all }, () =>
        all.map((l) => `${l.time} [${l.attempt}] ${l.content}`).join("\n"),
      );
    });

  return task;
}
