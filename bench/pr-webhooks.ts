// Webhook → state-change latency of the PR loop, in process with real parts: Postgres, NATS, the
// API's services and HTTP server, the GitHub double (real git, signed deliveries) and the real
// Octokit client. For each of BENCH_PRS open PRs (autoResume on), a failing check run is set on the
// double, which delivers a signed `check_run` webhook; the clock stops when the task's
// `state_changed` event (pr_opened → queued, the fix-up run) is published. Baseline in the same
// run: the same delivery with no task behind it (verify + de-duplicate + answer only).
//   node_modules/.bin/tsx bench/pr-webhooks.ts      (BENCH_PRS=100; BENCH_SMOKE=1: 5)
import os from "node:os";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { createLogger } from "../services/api/src/logger";
import { buildApp } from "../services/api/src/app";
import { ApiConfig } from "../services/api/src/config";
import { createPrisma } from "../services/api/src/db/prisma";
import { connectNats, ensureEventsStream } from "../services/api/src/nats/connection";
import { GitPlatforms } from "../services/api/src/platform/platform-registry";
import { PlatformHosts } from "../services/api/src/platform/platform-hosts";
import { PlatformPrAdapter } from "../services/api/src/prloop/platform-pr.adapter";
import { StaticSecretReader } from "../services/api/src/secrets/static-secret-reader";
import { createServices } from "../services/api/src/services";
import { SYSTEM } from "../services/api/src/tasks/task-machine";
import { startGitHubDouble } from "../services/api/test/support/github-double";
import { startStack } from "./lib/stack";

const PRS = process.env.BENCH_SMOKE ? 5 : Number(process.env.BENCH_PRS ?? 100);
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const line = (name: string, values: number[]) =>
  `${name.padEnd(40)} p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(values, 99).toFixed(1).padStart(7)} ms   (n=${values.length})`;

async function main() {
  const stack = await startStack("optio_bench_pr");
  const double = await startGitHubDouble();
  const logger = createLogger({ level: "silent", name: "bench-pr" });
  const secret = randomBytes(24).toString("hex");
  const prisma = createPrisma(stack.databaseUrl);
  const nats = await connectNats(stack.natsUrl, "optio-bench-pr");
  await ensureEventsStream(nats);
  const platforms = new GitPlatforms({
    hosts: new PlatformHosts({ githubUrl: double.webUrl }),
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
    logger,
  });
  const config = {
    ...ApiConfig.parse({
      DATABASE_URL: stack.databaseUrl,
      OPTIO_SECRET_KEY: randomBytes(32).toString("base64"), // a throw-away store
    }),
    OPTIO_ALLOWED_REPO_HOSTS: ["127.0.0.1"],
    GITHUB_WEBHOOK_SECRET: secret,
  };
  const { services, publisher, prLoop } = createServices({
    config,
    prisma,
    nats,
    logger,
    platform: new PlatformPrAdapter(platforms),
    secrets: new StaticSecretReader({ GITHUB_TOKEN: double.token }),
  });
  const app = await buildApp({ logger, nats, services, version: "bench", authRateLimit: 1000 });
  await app.listen({ port: 0, host: "127.0.0.1" });
  publisher.start();
  prLoop.watcher.start();
  const hookUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/webhooks/github`;

  try {
    const repo = double.createRepo("acme", "bench");
    const repoUrl = `${double.webUrl}/acme/bench`;
    await prisma.repo.create({
      data: {
        repoUrl,
        fullName: "acme/bench",
        image: "optio/agent:local",
        autoResume: true,
        maxAutoResumes: 5,
      },
    });
    double.addWebhook(repo, { url: hookUrl, secret, events: ["check_run"] });
    const client = (await platforms.forRepo({ id: null, repoUrl }))!.platform;
    const { machine, work } = services.tasks;

    // The clock stops at the published state change.
    const changed = new Map<string, (time: number) => void>();
    const sub = nats.subscribe("optio.task.*.state_changed");
    void (async () => {
      for await (const msg of sub) {
        const event = msg.json<{ data: { taskId: string; toState: string } }>();
        if (event.data.toState === "queued") changed.get(event.data.taskId)?.(performance.now());
      }
    })();

    const tasks: { id: string; number: number }[] = [];
    for (let i = 0; i < PRS; i++) {
      const branch = `optio/bench-${i}`;
      await double.commit(repo, branch, { path: `f${i}.txt`, content: `${i}\n` });
      const pull = await client.createPull(repo, {
        head: branch,
        base: "main",
        title: `PR ${i}`,
        body: "",
        draft: false,
      });
      const task = await prisma.task.create({
        data: {
          title: `Task ${i}`,
          prompt: "bench",
          repoUrl,
          repoBranch: "main",
          agentType: "claude",
          state: "running",
          prNumber: pull.number,
          prUrl: pull.url,
          branchName: branch,
        },
      });
      await work.run((w) =>
        machine.transition(w, { taskId: task.id, to: "pr_opened", trigger: "bench", actor: SYSTEM }),
      );
      await prLoop.watcher.refresh(task.id);
      tasks.push({ id: task.id, number: pull.number });
    }

    const latencies: number[] = [];
    for (const task of tasks) {
      const done = new Promise<number>((resolve) => changed.set(task.id, resolve));
      const start = performance.now();
      double.setCheckRun(
        repo,
        { pull: task.number },
        { name: "test", status: "completed", conclusion: "failure" },
      );
      latencies.push((await done) - start);
    }

    // Baseline: a signed delivery about a PR no task follows.
    const baseline: number[] = [];
    for (let i = 0; i < PRS; i++) {
      const start = performance.now();
      const result = await double.sendWebhook({
        url: hookUrl,
        secret,
        event: "check_run",
        payload: {
          action: "completed",
          repository: { html_url: repoUrl },
          check_run: { head_sha: "0".repeat(40), pull_requests: [{ number: 999_999 }] },
        },
      });
      if (result.status !== 202) throw new Error(`baseline delivery answered ${result.status}`);
      baseline.push(performance.now() - start);
    }
    await sub.drain();

    console.log(
      `PR loop, ${PRS} PRs, load average ${os
        .loadavg()
        .map((v) => v.toFixed(1))
        .join(" ")} (indicative)`,
    );
    console.log(line("webhook → task state change", latencies));
    console.log(line("baseline: delivery answered, no task", baseline));
    console.log(`ratio p50: ${(percentile(latencies, 50) / percentile(baseline, 50)).toFixed(1)}x`);
  } finally {
    await prLoop.watcher.stop();
    await app.close();
    await publisher.stop();
    await nats.drain().catch(() => {});
    await prisma.$disconnect();
    await double.close();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
