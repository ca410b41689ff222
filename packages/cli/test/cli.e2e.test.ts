// The real `optio` process against the real stack: the API listening on 127.0.0.1, a runner
// process, Docker containers, a git server. Every documented exit code is produced for real.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { eventually, startE2eStack, type E2eStack } from "../../../services/api/test/e2e/stack";
import { closedPort, CuttableProxy, runCli, startCli } from "./cli-process";

jest.setTimeout(300_000); // each CLI process starts tsx: seconds on a loaded machine

let stack: E2eStack;
let server: string;
let env: Record<string, string>;
let repoCount = 0;
let runnerMetricsPort = 0;

beforeAll(async () => {
  stack = await startE2eStack();
  await stack.ctx.app.listen({ port: 0, host: "127.0.0.1" });
  server = `http://127.0.0.1:${(stack.ctx.app.server.address() as AddressInfo).port}`;
  env = {
    OPTIO_SERVER: server,
    OPTIO_TOKEN: stack.token,
    XDG_CONFIG_HOME: mkdtempSync(path.join(os.tmpdir(), "optio-cli-")),
  };
  runnerMetricsPort = await closedPort();
  await stack.startRunner("cli-e2e", { OPTIO_RUNNER_METRICS_PORT: String(runnerMetricsPort) });
}, 15 * 60_000);
afterAll(() => stack.close());

function newRepo(): string {
  return newRepoNamed().url;
}

function newRepoNamed(): { name: string; url: string } {
  const name = `cli${++repoCount}`;
  stack.git.createRepo(name);
  return { name, url: stack.git.url(name) };
}

const taskOf = (id: string) => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id } });
const taskIdIn = (stderr: string) => /created task ([0-9a-f-]{36})/.exec(stderr)?.[1];

describe("optio task new --wait, end to end", () => {
  it("a shell task that succeeds: exit 0, its log lines followed, the final task as JSON", async () => {
    const repo = newRepoNamed();
    const result = await runCli(
      [
        "task",
        "new",
        repo.url,
        "echo 'hello from the cli'; echo hi > hello.txt",
        "--agent",
        "shell",
        "--wait",
        "--follow",
        "--json",
      ],
      env,
    );
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      exitCode: 0,
      timedOut: false,
      task: { state: "completed", agentType: "shell" },
    });
    expect(result.stderr).toContain("hello from the cli"); // followed log lines go to stderr with --json
    expect(result.stderr).toMatch(/^\d{4}-\d\d-\d\dT\S+ task \S+ running/m); // CI: timestamped lines
    const row = await taskOf(out.task.id);
    expect(row.state).toBe("completed");
    expect(stack.git.git(repo.name, ["show", `${row.branchName}:hello.txt`]).trim()).toBe("hi");
  });

  it("a failing task exits 1 and prints the server's error; an idle one needs attention (3)", async () => {
    const [failing, idle] = await Promise.all([
      runCli(
        [
          "task",
          "new",
          newRepo(),
          "echo broken >&2; exit 3",
          "--agent",
          "shell",
          "--max-retries",
          "0",
          "--wait",
          "-f",
        ],
        env,
      ),
      runCli(["task", "new", newRepo(), "true", "--agent", "shell", "--wait"], env),
    ]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/failed/);
    expect(failing.stdout).toContain("broken"); // the followed stderr line
    expect(failing.stdout).toMatch(/error: .*AGENT_FAILED/);
    expect((await taskOf(taskIdIn(failing.stderr)!)).state).toBe("failed");
    expect(idle.code).toBe(3);
    expect((await taskOf(taskIdIn(idle.stderr)!)).state).toBe("needs_attention");
  });

  it("task message sends the agent a message and prints how it reached it (text from stdin too)", async () => {
    const idle = await runCli(["task", "new", newRepo(), "true", "--agent", "shell", "--wait"], env);
    const id = taskIdIn(idle.stderr)!;
    const sent = await runCli(["task", "message", id, "Print", "bye", "--json"], env);
    expect(sent.code).toBe(0);
    // A shell task has no agent to resume: the message waits for its next run.
    expect(JSON.parse(sent.stdout)).toMatchObject({
      delivery: "next_run",
      message: { content: "Print bye" },
    });
    const piped = await runCli(["task", "message", id], env, "From stdin\n");
    expect(piped.stdout).toMatch(/^message [0-9a-f-]{36}: next_run\n {2}a shell task/);
    const rows = await stack.ctx.prisma.taskMessage.findMany({
      where: { taskId: id },
      orderBy: { createdAt: "asc" },
    });
    expect(rows.map((m) => m.content)).toEqual(["Print bye", "From stdin"]);
  });

  it("cancelled while waiting: exit 2; --timeout: exit 4 with the task left running", async () => {
    const slow = startCli(["task", "new", newRepo(), "sleep 60", "--agent", "shell", "--wait"], env);
    const id = await eventually("task created", () => taskIdIn(slow.stderr()), Boolean, 30_000);
    await eventually(
      "running",
      () => taskOf(id!),
      (t) => t.state === "running",
      60_000,
    );
    const timedOut = await runCli(["task", "wait", id!, "--timeout", "10s"], env);
    expect(timedOut.code).toBe(4);
    expect(timedOut.stderr).toMatch(/timed out after 10 s in state running/);
    expect((await taskOf(id!)).state).toBe("running");

    const cancel = await runCli(["task", "cancel", id!, "--json"], env);
    expect(cancel.code).toBe(0);
    expect(JSON.parse(cancel.stdout).task.state).toBe("cancelled");
    expect((await slow.result).code).toBe(2);
  });

  it("a connection dropped mid-wait is resumed with Last-Event-ID: the end it missed is still seen", async () => {
    const proxy = new CuttableProxy(Number(new URL(server).port));
    const viaProxy = { ...env, OPTIO_SERVER: await proxy.start() };
    try {
      const waiting = startCli(
        ["task", "new", newRepo(), "sleep 3; echo x > x.txt", "--agent", "shell", "--wait"],
        viaProxy,
      );
      const id = await eventually("task created", () => taskIdIn(waiting.stderr()), Boolean, 30_000);
      await eventually(
        "the CLI saw it running",
        () => waiting.stderr(),
        (s) => / running/.test(s),
        60_000,
      );
      proxy.cut();
      // The task ends while the CLI cannot reach the server: only a resumed stream can tell it.
      await eventually(
        "completed",
        () => taskOf(id!),
        (t) => t.state === "completed",
        60_000,
      );
      proxy.restore();
      const result = await waiting.result;
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/event stream dropped/);
      expect(result.stderr).toMatch(/reconnected/);
      expect(result.stdout).toContain("completed");
    } finally {
      await proxy.close();
    }
  });
});

describe("optio: exit codes without a task", () => {
  it("bad usage → 64, naming the problem", async () => {
    const cases: [string[], RegExp][] = [
      [["task", "new", "only-one-argument"], /missing required argument 'prompt'/],
      [["task", "list", "--limit", "many"], /--limit.*must be a whole number/],
      [["task", "show", "not-a-uuid"], /must be an id/],
      [["task", "wait", "00000000-0000-4000-8000-000000000000", "--timeout", "soon"], /must be a duration/],
      [["task", "new", "r", "p", "--metadata", "novalue"], /expected key=value/],
      [["frobnicate"], /unknown command/],
      [["task", "list", "--state", "sleeping"], /unknown state sleeping/],
      [["task", "new", "r", "p", "--wat"], /unknown option '--wat'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, env)));
    results.forEach((result, i) => {
      expect({ args: cases[i]![0], code: result.code }).toEqual({ args: cases[i]![0], code: 64 });
      expect(result.stderr).toMatch(cases[i]![1]);
    });
  });

  it("unreachable server → 69; bad token → 77 (also for a wait); unknown task → 1 with the server's code", async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const unreachable = await runCli(["task", "list"], { ...env, OPTIO_SERVER: down });
    expect(unreachable.code).toBe(69);
    expect(unreachable.stderr).toContain("cannot reach");
    const waitUnreachable = await runCli(["task", "wait", "00000000-0000-4000-8000-000000000000"], {
      ...env,
      OPTIO_SERVER: down,
    });
    expect(waitUnreachable.code).toBe(69);

    const unknownToken = `optio_${randomUUID()}`; // generated: the server has never issued it
    const badToken = await runCli(["whoami"], { ...env, OPTIO_TOKEN: unknownToken });
    expect(badToken.code).toBe(77);
    expect(badToken.stderr).toMatch(/AUTH_INVALID|AUTH_REQUIRED/);
    const waitBadToken = await runCli(["task", "wait", "00000000-0000-4000-8000-000000000000"], {
      ...env,
      OPTIO_TOKEN: unknownToken,
    });
    expect(waitBadToken.code).toBe(77);

    const missing = await runCli(["task", "show", "00000000-0000-4000-8000-000000000000"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("TASK_NOT_FOUND");
  });
});

describe("optio: configuration and the other commands", () => {
  it("login --token stores the credentials with mode 0600; later commands use them; --server/--api-key override", async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), "optio-login-"));
    const login = await runCli(["login", "--server", server, "--token", stack.token], {
      XDG_CONFIG_HOME: home,
    });
    expect(login.code).toBe(0);
    const file = path.join(home, "optio", "credentials.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ server, token: stack.token });

    const whoami = await runCli(["whoami", "--json"], { XDG_CONFIG_HOME: home });
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout).user.email).toBe("admin@example.test");
    // The human form shows the display name (it defaults to the name given at setup).
    expect((await runCli(["whoami"], { XDG_CONFIG_HOME: home })).stdout).toMatch(
      /^Admin <admin@example\.test> {2}admin/,
    );
    // The stored token is only for the stored server.
    const proxy = new CuttableProxy(Number(new URL(server).port));
    const other = await proxy.start();
    try {
      expect((await runCli(["whoami", "--server", other], { XDG_CONFIG_HOME: home })).code).toBe(77);
      expect(
        (await runCli(["whoami", "--server", other, "--api-key", stack.token], { XDG_CONFIG_HOME: home }))
          .code,
      ).toBe(0);
    } finally {
      await proxy.close();
    }
    const badLogin = await runCli(["login", "--server", server], { XDG_CONFIG_HOME: home }, "wrong-token\n");
    expect(badLogin.code).toBe(77);
    expect(JSON.parse(readFileSync(file, "utf8")).token).toBe(stack.token); // unchanged
  });

  it("repo add|list|show|update|remove", async () => {
    const url = newRepo();
    const added = await runCli(
      ["repo", "add", url, "--agent", "shell", "--max-attempts", "1", "--json"],
      env,
    );
    expect(added.code).toBe(0);
    const repoId = JSON.parse(added.stdout).repo.id as string;
    expect((await stack.ctx.prisma.repo.findUniqueOrThrow({ where: { id: repoId } })).maxAttempts).toBe(1);
    const [updated, listed, empty] = await Promise.all([
      runCli(["repo", "update", repoId, "--max-concurrent", "3", "--json"], env),
      runCli(["repo", "list"], env),
      runCli(["repo", "update", repoId], env),
    ]);
    expect(JSON.parse(updated.stdout).repo.maxConcurrentTasks).toBe(3);
    expect(listed.stdout).toContain(repoId);
    expect(empty.code).toBe(64);
    const show = await runCli(["repo", "show", repoId], env);
    expect(show.stdout).toMatch(/maxConcurrentTasks\s+3/);
    expect((await runCli(["repo", "remove", repoId], env)).code).toBe(0);
    expect(await stack.ctx.prisma.repo.findUnique({ where: { id: repoId } })).toBeNull();
  });

  it("task new by repository id, then list|show|logs|retry|resume|cancel", async () => {
    const repo = await stack.ctx.services.repos.create(
      { repoUrl: newRepo(), defaultAgentType: "shell", maxAttempts: 1 },
      (await stack.ctx.prisma.user.findFirstOrThrow()).id,
    );
    // The repository's default agent (shell) runs it.
    const created = await runCli(
      [
        "task",
        "new",
        repo.id,
        "echo nope; exit 1",
        "--title",
        "CLI listed",
        "--metadata",
        "ci=yes",
        "--wait",
      ],
      env,
    );
    expect(created.code).toBe(1);
    const id = taskIdIn(created.stderr)!;
    expect(await taskOf(id)).toMatchObject({
      title: "CLI listed",
      agentType: "shell",
      metadata: { ci: "yes" },
    });

    const [list, show, logs] = await Promise.all([
      runCli(["task", "list", "--repo", repo.id, "--state", "failed", "--json"], env),
      runCli(["task", "show", id], env),
      runCli(["task", "logs", id], env),
    ]);
    expect(JSON.parse(list.stdout).tasks.map((t: { id: string }) => t.id)).toEqual([id]);
    expect(show.stdout).toMatch(/state\s+failed/);
    expect(show.stdout).toContain("#1 ");
    expect(logs.stdout).toContain("nope");

    const retried = await runCli(["task", "retry", id, "--json"], env);
    expect(JSON.parse(retried.stdout).task.state).toBe("queued");
    expect((await runCli(["task", "wait", id, "--timeout", "90s"], env)).code).toBe(1);
    const resumed = await runCli(["task", "resume", id, "-m", "try again", "--json"], env);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).task.state).toBe("queued");
    expect((await runCli(["task", "wait", id, "--timeout", "90s"], env)).code).toBe(1);
    expect(await stack.ctx.prisma.run.count({ where: { taskId: id } })).toBe(3);
  });

  it("runners and version; the runner's own /metrics", async () => {
    const runners = JSON.parse((await runCli(["runners", "--json"], env)).stdout);
    expect(runners.runners.map((r: { runnerId: string }) => r.runnerId)).toContain("cli-e2e");
    const version = JSON.parse((await runCli(["version", "--json"], env)).stdout);
    expect(version).toEqual({ client: "0.1.0", server: "test", serverStatus: "ok" });

    // Runs ended on this runner by the earlier tests, scraped in the Prometheus text format.
    const text = await (await fetch(`http://127.0.0.1:${runnerMetricsPort}/metrics`)).text();
    expect(text).toMatch(/^optio_runner_slots_total\{runner="cli-e2e"\} 2$/m);
    expect(text).toMatch(/^optio_runner_slots_busy\{runner="cli-e2e"\} \d+$/m);
    expect(text).toMatch(/^optio_runner_reports_buffered\{runner="cli-e2e"\} 0$/m);
    const ended = [...text.matchAll(/^optio_runner_runs_total\{outcome="(\w+)",runner="cli-e2e"\} (\d+)$/gm)];
    // The runs the tests above ended here: four succeeded (hello, idle `true` twice, the
    // dropped-connection one), four failed (the failing task, and the `exit 1` task's three runs),
    // one was cancelled.
    expect(Object.fromEntries(ended.map((m) => [m[1], Number(m[2])]))).toEqual({
      completed: 4,
      error: 4,
      cancelled: 1,
    });
    expect(
      Number(/^optio_runner_container_start_seconds_count\{runner="cli-e2e"\} (\d+)$/m.exec(text)?.[1]),
    ).toBeGreaterThan(0);
  });
});
