// Flags that cannot rot: every argv the claude and codex adapters can build (model, maxTurns and
// resume each set or not, and a review prompt) is run, exactly as built, by the CLI version the
// production image pins, against the model API doubles. A CLI that rejects a flag (or ignores the
// model, or loses the prompt, or cannot resume) fails its case. Codex's provider comes from
// ~/.codex/config.toml, so the argv stays the adapter's alone.
import { getAdapter, type AgentInput } from "@optio/agents";
import { reviewPrompt, type PrSnapshot } from "@optio/core";
import type { AgentType } from "@optio/contracts";
import { AgentContainer, type CliRun } from "../agent-container";
import { IMAGE_BUILD_TIMEOUT_MS, realAgentImage } from "../agent-image";
import { testSecret } from "../fixtures";
import { claudeEnv, eventsOf, parseRun, runClaude, runCodex, stdinFor } from "../real-cli";
import {
  codexProviderToml,
  finalTurn,
  startAnthropicDouble,
  startOpenAIDouble,
  type ModelDouble,
} from "./index";

jest.setTimeout(120_000);

type Agent = Extract<AgentType, "claude" | "codex">;
interface Case {
  model?: string;
  maxTurns?: number;
  resume?: boolean;
  review?: boolean;
}

const MODELS: Record<Agent, string> = { claude: "claude-sonnet-4-5-20250929", codex: "gpt-5-codex" };
const keys: Record<Agent, string> = { claude: testSecret("sk-ant-test-"), codex: testSecret("sk-test-") };
const doubles = {} as Record<Agent, ModelDouble>;
/** A session per agent made with a known-good argv, for the resume cases to continue. */
const base = {} as Record<Agent, { sessionId: string; prompt: string }>;
let box: AgentContainer;

const REVIEW_ANSWER = "The change is right and tested.\n\nOPTIO_REVIEW_VERDICT: approve";
const pr: PrSnapshot = {
  number: 7,
  url: "http://127.0.0.1:9/acme/demo/pull/7",
  state: "open",
  merged: false,
  draft: false,
  headRef: "optio/abc-usage",
  headSha: "0123456789abcdef0123456789abcdef01234567",
  baseRef: "main",
  mergeable: true,
  checks: { verdict: "passing", items: [] },
  review: { decision: "none", requestedChanges: [] },
};
const reviewRun = () =>
  reviewPrompt(
    { title: "Add a usage section", prompt: "Document `optio run` in the README, with an example." },
    pr,
  );

function cases(agent: Agent): Case[] {
  const all: Case[] = [];
  for (const resume of [false, true])
    for (const model of [undefined, MODELS[agent]])
      for (const maxTurns of [undefined, 3]) all.push({ model, maxTurns, resume });
  return [...all, { review: true }];
}
const label = (c: Case) =>
  c.review
    ? "a review prompt"
    : `model ${c.model ? "set" : "unset"}, maxTurns ${c.maxTurns ? "set" : "unset"}, resume ${c.resume ? "set" : "unset"}`;

const env = (agent: Agent): Record<string, string> =>
  agent === "claude" ? claudeEnv(doubles.claude, keys.claude) : { OPENAI_API_KEY: keys.codex };

/** What is wrong with a run of `argv`: empty when the CLI took it and ended its turn well. */
function problems(agent: Agent, argv: string[], run: CliRun): string[] {
  const found: string[] = [];
  if (run.exitCode !== 0)
    found.push(`\`${argv.join(" ")}\` exited ${run.exitCode}: ${run.stderr.trim().slice(-400)}`);
  if (doubles[agent].modelRequests().length === 0) found.push("the CLI sent the model no request");
  const last = run.events.at(-1);
  const ended =
    agent === "claude"
      ? last?.type === "result" && last.subtype === "success"
      : last?.type === "turn.completed";
  if (!ended) found.push(`the stream did not end with a successful turn: ${JSON.stringify(last ?? null)}`);
  return found;
}

beforeAll(async () => {
  box = AgentContainer.start(realAgentImage(), { label: "flags-real-cli" });
  doubles.claude = await startAnthropicDouble();
  doubles.codex = await startOpenAIDouble();
  box.sh(
    `mkdir -p ~/.codex && cat > ~/.codex/config.toml <<'EOF'\n${codexProviderToml(doubles.codex.url)}EOF`,
  );
  for (const agent of ["claude", "codex"] as const) {
    const cwd = box.gitRepo(`/workspace/${agent}-base`);
    const prompt = `Base session for ${agent}`;
    doubles[agent].play([finalTurn("Base done.")]);
    const run =
      agent === "claude"
        ? await runClaude(box, { double: doubles.claude, apiKey: keys.claude, cwd, prompt })
        : await runCodex(box, { double: doubles.codex, apiKey: keys.codex, cwd, prompt });
    const { summary } = parseRun(agent, run);
    if (run.exitCode !== 0 || !summary.sessionId)
      throw new Error(`no base session for ${agent}: ${run.stderr}`);
    base[agent] = { sessionId: summary.sessionId, prompt };
  }
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  box?.remove();
  await Promise.all(Object.values(doubles).map((d) => d.close()));
});

let repos = 0;
describe.each(["claude", "codex"] as const)("%s adapter argv on the pinned CLI", (agent) => {
  it.each(cases(agent).map((c) => [label(c), c] as const))("%s", async (_label, c) => {
    const double = doubles[agent];
    double.reset();
    const prompt = c.review ? reviewRun() : `Flag check (${label(c)})`;
    const answer = c.review ? REVIEW_ANSWER : "Flags fine.";
    double.play([finalTurn(answer)]);
    const input: AgentInput = {
      prompt,
      promptFile: "/run/optio/prompt",
      model: c.model,
      maxTurns: c.maxTurns,
      resumeSessionId: c.resume ? base[agent].sessionId : undefined,
    };
    const command = getAdapter(agent).command(input);
    // A resumed session continues in its own repository; the others get a new one.
    const cwd = c.resume ? `/workspace/${agent}-base` : box.gitRepo(`/workspace/${agent}-flags-${++repos}`);
    const run = await box.exec(command.argv, {
      stdin: stdinFor(agent, command, prompt),
      cwd,
      env: { ...command.env, ...env(agent) },
    });

    expect(problems(agent, command.argv, run)).toEqual([]);
    const [request] = double.modelRequests();
    expect(request!.prompt?.trim()).toBe(prompt.trim());
    if (c.model) expect(request!.model).toBe(c.model);
    const { summary } = parseRun(agent, run);
    expect(summary).toMatchObject({ isError: false, resultText: answer, sessionId: expect.any(String) });
    if (c.resume) {
      expect(summary.sessionId).toBe(base[agent].sessionId);
      expect(JSON.stringify(request!.body)).toContain(base[agent].prompt);
    } else expect(summary.sessionId).not.toBe(base[agent].sessionId);
    if (c.review)
      expect(summary.review).toEqual({ verdict: "approve", body: "The change is right and tested." });
  });

  it("fails a case when the CLI rejects a flag", async () => {
    doubles[agent].reset();
    const argv = [...getAdapter(agent).command({ prompt: "x", promptFile: "/run/optio/prompt" }).argv];
    argv.splice(agent === "claude" ? 1 : 2, 0, "--no-such-flag");
    const run = await box.exec(argv, { stdin: "x", cwd: `/workspace/${agent}-base`, env: env(agent) });
    const unknown =
      agent === "claude" ? "unknown option '--no-such-flag'" : "unexpected argument '--no-such-flag'";
    expect(problems(agent, argv, run)).toEqual([
      expect.stringContaining(unknown),
      "the CLI sent the model no request",
      expect.stringContaining("the stream did not end with a successful turn"),
    ]);
    expect(eventsOf(run, "result")).toEqual([]);
  });
});
