// TEST ONLY. Running the real Claude Code and Codex CLIs (optio/agent-real image) against the model
// API doubles, and reading their output with the production parsers.
import { getAdapter, type AgentCommand, type AgentEvent, type AgentSummary } from "@optio/agents";
import type { AgentContainer, CliRun } from "./agent-container";
import type { ModelDouble } from "./model-doubles";
import { codexProviderArgs } from "./model-doubles";

/** What Claude Code needs to talk to the double, and only to it. */
export function claudeEnv(double: ModelDouble, apiKey: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: double.url,
    ANTHROPIC_API_KEY: apiKey,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  };
}

/**
 * The argv Codex 0.171.0 accepts for a headless run (the codex adapter's is checked separately in
 * flags.real-cli.test.ts), pointed at the double; `args` go before the closing `-` (stdin prompt),
 * e.g. ["resume", threadId].
 */
export function codexArgv(double: ModelDouble, args: string[] = []): string[] {
  return [
    "codex",
    "exec",
    "--json",
    "--dangerously-bypass-approvals-and-sandbox",
    "--skip-git-repo-check",
    ...codexProviderArgs(double.url),
    ...args,
    "-",
  ];
}

/**
 * The agent's stdin for `prompt`, as a run's prompt file gives it: the prompt itself, or (stream
 * input) its first message line; closed after it, so a stream agent ends once it has answered.
 */
export function stdinFor(type: "claude" | "codex", command: AgentCommand, prompt: string): string {
  if (command.stdin === "stream") return getAdapter(type).input!.message(prompt);
  return command.stdin === "prompt" ? prompt : "";
}

/** Claude Code's argv from the production adapter, plus its env and the double's. */
export function runClaude(
  box: AgentContainer,
  options: {
    double: ModelDouble;
    apiKey: string;
    cwd: string;
    prompt: string;
    model?: string;
    maxTurns?: number;
    resumeSessionId?: string;
    env?: Record<string, string>;
  },
): Promise<CliRun> {
  const command = getAdapter("claude").command({ ...options, promptFile: "/dev/stdin" });
  return box.exec(command.argv, {
    stdin: stdinFor("claude", command, options.prompt),
    cwd: options.cwd,
    env: { ...command.env, ...claudeEnv(options.double, options.apiKey), ...options.env },
  });
}

export function runCodex(
  box: AgentContainer,
  options: { double: ModelDouble; apiKey: string; cwd: string; prompt: string; args?: string[] },
): Promise<CliRun> {
  return box.exec(codexArgv(options.double, options.args), {
    stdin: options.prompt,
    cwd: options.cwd,
    env: { CI: "1", OPENAI_API_KEY: options.apiKey },
  });
}

/** A run's stdout through the agent's production parser. */
export function parseRun(
  type: "claude" | "codex",
  run: CliRun,
): { events: AgentEvent[]; summary: AgentSummary } {
  const parser = getAdapter(type).createParser();
  const events = run.lines.flatMap((line) => parser.line(line) ?? []);
  return { events, summary: parser.summary() };
}

/** The output events of a given `type` (and `subtype`, for Claude's system events). */
export function eventsOf(run: CliRun, type: string, subtype?: string): Array<Record<string, unknown>> {
  return run.events.filter((e) => e.type === type && (subtype === undefined || e.subtype === subtype));
}

/** The run's last output event (Claude: `result`; Codex: `turn.completed` or `turn.failed`). */
export function lastEvent(run: CliRun): Record<string, unknown> {
  const last = run.events.at(-1);
  if (!last) throw new Error(`no JSON output (exit ${run.exitCode}): ${run.stderr.slice(-500)}`);
  return last;
}
