// Time to the first model request with the real Claude Code CLI (optio/agent-real:<hash>), against
// the Anthropic Messages double on 127.0.0.1: from POST /api/tasks returning to the double's first
// request, for a cold run and for one through the warm pool, beside the CLI's own start-up measured
// alone in the same run (a `docker exec` of the same argv in a running container of the same image:
// exec spawned -> first request). Each round takes one of each, alternated (alone, task, alone, …),
// so every figure sees the same machine; medians over BENCH_ROUNDS rounds.
//   npm run bench -- agents        (BENCH_ROUNDS=10; --smoke: 1)
import { execFileSync, type ChildProcess } from "node:child_process";
import { AgentContainer } from "../services/runner/src/testing/agent-container";
import { realAgentImage } from "../services/runner/src/testing/agent-image";
import { startGitServer } from "../services/runner/src/testing/git-server";
import { testSecret } from "../services/runner/src/testing/fixtures";
import { runClaude } from "../services/runner/src/testing/real-cli";
import {
  finalTurn,
  startAnthropicDouble,
  type ModelDouble,
} from "../services/runner/src/testing/model-doubles";
import { apiToken, setting, startApi, startRunnerProcess, startStack } from "./lib/stack";

const ROUNDS = setting("ROUNDS", 10, 1);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ms = (value: number) => `${value.toFixed(0).padStart(5)} ms`;

const stop = (child: ChildProcess) =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(null);
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });

async function main() {
  const image = realAgentImage();
  const stack = await startStack("optio_bench_agents");
  const git = await startGitServer(null);
  git.createRepo("bench");
  const double: ModelDouble = await startAnthropicDouble();
  double.play([], { afterScript: finalTurn("Done.") });
  const api = await startApi(stack, { OPTIO_DEFAULT_IMAGE: image, OPTIO_ALLOWED_REPO_HOSTS: "127.0.0.1" });
  const token = await apiToken(api.url);
  const call = async (method: string, pathName: string, body?: unknown) => {
    const res = await fetch(`${api.url}${pathName}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${pathName}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const apiKey = testSecret("sk-ant-");
  await call("POST", "/api/repos", { repoUrl: git.url("bench"), maxConcurrentTasks: 100 });
  await call("POST", "/api/secrets", { name: "ANTHROPIC_API_KEY", value: apiKey });
  await call("POST", "/api/secrets", { name: "ANTHROPIC_BASE_URL", value: double.url });

  const box = AgentContainer.start(image, { label: "bench-agents" });
  box.gitRepo("/workspace/alone");
  /** The CLI alone, with the adapter's argv: docker exec spawned -> its first request at the double. */
  const alone = async () => {
    const before = double.requests.length;
    const started = Date.now();
    await runClaude(box, { double, apiKey, cwd: "/workspace/alone", prompt: "Say hello" });
    return double.requests[before]!.receivedAt - started;
  };
  /** A task through Optio: POST returned -> the run's first request at the double; then its end. */
  const throughOptio = async () => {
    const before = double.requests.length;
    const { task } = (await call("POST", "/api/tasks", {
      title: "bench",
      prompt: "Say hello",
      repoUrl: git.url("bench"),
      agentType: "claude",
    })) as { task: { id: string } };
    const returned = Date.now();
    const [first] = (await double.waitForRequests(before + 1, 120_000)).slice(before);
    for (;;) {
      const { task: now } = (await call("GET", `/api/tasks/${task.id}`)) as { task: { state: string } };
      if (["completed", "failed", "needs_attention"].includes(now.state)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return first!.receivedAt - returned;
  };
  const waitRunner = async (ready: (r: { pool?: { ready: number } }) => boolean) => {
    for (;;) {
      const { runners } = (await call("GET", "/api/runners")) as { runners: { pool?: { ready: number } }[] };
      if (runners.some(ready)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const figures: Record<"alone" | "cold" | "warm", number[]> = { alone: [], cold: [], warm: [] };
  try {
    await alone(); // the CLI's first start in the container reads its files from disk
    for (const [mode, extra] of [
      ["cold", {}],
      ["warm", { OPTIO_RUNNER_WARM_POOL: "2" }],
    ] as const) {
      const runner = startRunnerProcess(stack, `bench-agents-${mode}`, image, 2, {
        OPTIO_RUNNER_MEMORY_MB: "1536",
        ...extra,
      });
      await waitRunner((r) => mode === "cold" || (r.pool?.ready ?? 0) >= 2);
      await throughOptio(); // warm-up: the image's layers in the page cache, the pool refilled
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so neither always follows the other's tail.
        if (round % 2 === 0) figures.alone.push(await alone());
        figures[mode].push(await throughOptio());
        if (round % 2 === 1) figures.alone.push(await alone());
        if (mode === "warm") await waitRunner((r) => (r.pool?.ready ?? 0) >= 2);
      }
      await stop(runner);
    }
  } finally {
    box.remove();
    await api.stop();
    await double.close();
    await git.close();
    await stack.stop();
  }

  const load = execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).split(" ").slice(0, 3).join(" ");
  console.log(
    `\nTime to the first model request, real Claude Code, ${ROUNDS} rounds (medians; load ${load})`,
  );
  const line = (label: string, values: number[]) =>
    console.log(
      `  ${label.padEnd(48)} ${ms(median(values))}  (range ${ms(Math.min(...values))} – ${ms(Math.max(...values))})`,
    );
  line("the CLI alone: exec -> first request", figures.alone);
  line("cold run: POST returned -> first request", figures.cold);
  line("warm pool: POST returned -> first request", figures.warm);
  const overhead = median(figures.warm) - median(figures.alone);
  console.log(
    `  warm - alone: ${ms(overhead)} (target <= 100 ms); cold - alone: ${ms(median(figures.cold) - median(figures.alone))}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
