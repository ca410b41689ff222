// The PR watcher's polling cost on GitHub: with BENCH_PRS open PRs (default 1,000; BENCH_SMOKE=1:
// 50) on the GitHub double, requests per polling cycle that count against the rate limit when
// nothing changed (target 0: every look is an ETag-conditional request answered 304) and when 10 %
// of the PRs changed (a new check run on their head commit). Each cycle observes every PR through
// GitPlatform.observePull (the real Octokit with throttling and retry).
//   node_modules/.bin/tsx bench/github-watcher.ts
import { execFileSync } from "node:child_process";
import os from "node:os";
import { createLogger } from "../services/api/src/logger";
import { GitHubPlatform } from "../services/api/src/platform/github/github.platform";
import { createOctokit } from "../services/api/src/platform/github/octokit-client";
import { startGitHubDouble } from "../services/api/test/support/github-double";

const SMOKE = process.env.BENCH_SMOKE === "1";
const PRS = Number(process.env.BENCH_PRS ?? (SMOKE ? 50 : 1000));
const CONCURRENCY = 16;

async function main() {
  const double = await startGitHubDouble();
  const repo = { owner: "acme", name: "bench" };
  double.createRepo("acme", "bench");
  const gitDir = double.git.dir("acme/bench");
  const base = double.branchSha(repo, "main")!;
  // One git process writes every PR branch (a commit each, so each PR has its own head).
  const stream = Array.from({ length: PRS }, (_, i) =>
    [
      `commit refs/heads/bench/pr-${i}`,
      "committer Bench <bench@example.test> 1700000000 +0000",
      `data ${`pr ${i}`.length}`,
      `pr ${i}`,
      `from ${base}`,
      `M 644 inline file-${i}.txt`,
      `data ${String(i).length}`,
      String(i),
      "",
    ].join("\n"),
  ).join("\n");
  execFileSync("git", [`--git-dir=${gitDir}`, "fast-import", "--quiet"], { input: stream });
  const world = double.world;
  const record = world.repo("acme", "bench");
  const numbers: number[] = [];
  for (let i = 0; i < PRS; i++) {
    numbers.push(world.createPull(record, { title: `PR ${i}`, head: `bench/pr-${i}`, base: "main" }).number);
  }

  const platform = new GitHubPlatform(
    createOctokit({
      baseUrl: double.apiUrl,
      auth: double.token,
      logger: createLogger({ level: "silent", name: "bench" }),
    }),
  );
  const cycle = async () => {
    const mark = double.requests.length;
    const started = performance.now();
    let changed = 0;
    const queue = [...numbers];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let number = queue.shift(); number !== undefined; number = queue.shift()) {
          if ((await platform.observePull(repo, number)).changed) changed++;
        }
      }),
    );
    const requests = double.requests.slice(mark);
    return {
      requests: requests.length,
      counted: requests.filter((request) => request.counted).length,
      notModified: requests.filter((request) => request.status === 304).length,
      changedPrs: changed,
      seconds: (performance.now() - started) / 1000,
    };
  };

  const first = await cycle();
  const unchanged = await cycle();
  const touched = numbers.filter((_, i) => i % 10 === 0);
  for (const number of touched)
    double.setCheckRun(repo, { pull: number }, { name: "ci", conclusion: "failure" });
  const tenPercent = await cycle();
  const row = (name: string, c: typeof first) =>
    `${name.padEnd(26)} ${String(c.requests).padStart(6)} ${String(c.counted).padStart(8)} ${String(c.notModified).padStart(6)} ${String(c.changedPrs).padStart(8)} ${c.seconds.toFixed(1).padStart(7)} s`;
  console.log(
    `GitHub watcher polling cost, ${PRS} open PRs (load average ${os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(" ")})`,
  );
  console.log(
    `${"cycle".padEnd(26)} ${"reqs".padStart(6)} ${"counted".padStart(8)} ${"304".padStart(6)} ${"changed".padStart(8)} ${"time".padStart(9)}`,
  );
  console.log(row("first look (cold cache)", first));
  console.log(row("nothing changed", unchanged));
  console.log(row(`10 % changed (${touched.length} PRs)`, tenPercent));
  console.log(
    `baseline (same run): an unconditional look costs ${first.counted / PRS} counted requests per PR`,
  );
  await double.close();
  if (unchanged.counted !== 0) {
    console.error(`unchanged cycle cost ${unchanged.counted} counted requests (target 0)`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
