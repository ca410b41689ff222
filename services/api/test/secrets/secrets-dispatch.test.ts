// What runs receive, over the real claim request/reply on NATS: the agent's keys and the repo's git
// credential, nothing else; and stored secret values scrubbed from everything a runner reports.
import { randomBytes, randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { RUNS_STREAM, type RunSpec } from "@optio/contracts";
import { eventually } from "../helpers/eventually";
import { useDispatchWorld } from "../dispatch/fixtures";
import { ScriptedRunner, exited, resultOk } from "../dispatch/protocol";

/** Whether a NATS subject pattern (`*` one token, `>` the rest) matches a subject. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

const world = useDispatchWorld({ OPTIO_LEASE_MS: 120_000 });
const { createTask, drainQueue, startRun } = world.fixtures;
const value = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;
const values = {
  GITHUB_TOKEN: value("global-git"),
  ANTHROPIC_API_KEY: value("anthropic"),
  CLAUDE_CODE_OAUTH_TOKEN: value("oauth"),
  OPENAI_API_KEY: value("openai"),
  UNRELATED_SECRET: value("unrelated"),
};
const repoToken = value("repo-git");
const CONNECTED = "https://example.com/acme/connected";
/** JSON of raw rows (counters are bigints). */
const bigints = (_key: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
let runner: ScriptedRunner;

const store = (name: string, secret: string, scope?: string) =>
  world.ctx.http.post("/api/secrets").set(world.auth).send({ name, value: secret, scope }).expect(201);

beforeAll(async () => {
  runner = new ScriptedRunner(world.ctx.nats, "r-secrets");
  const repo = await world.ctx.http
    .post("/api/repos")
    .set(world.auth)
    .send({ repoUrl: CONNECTED })
    .expect(201);
  for (const [name, secret] of Object.entries(values)) await store(name, secret);
  await store("GITHUB_TOKEN", repoToken, repo.body.repo.id);
});

describe("claim replies", () => {
  it("give a claude run its keys and its repo's own git token", async () => {
    await drainQueue(runner);
    const task = await createTask({ agentType: "claude", repoUrl: CONNECTED });
    const claimId = randomUUID();
    const spec = (await runner.claim(claimId)) as RunSpec;
    expect(spec.taskId).toBe(task.id);
    expect(spec.secretEnv).toEqual({
      ANTHROPIC_API_KEY: values.ANTHROPIC_API_KEY,
      CLAUDE_CODE_OAUTH_TOKEN: values.CLAUDE_CODE_OAUTH_TOKEN,
    });
    expect(spec.gitCredential).toEqual({ source: "inline", username: "x-access-token", secret: repoToken });
    // A repeated claim (the reply was lost) carries the same secrets.
    const again = (await runner.claim(claimId)) as RunSpec;
    expect(again.runId).toBe(spec.runId);
    expect(again.secretEnv).toEqual(spec.secretEnv);
    expect(again.gitCredential).toEqual(spec.gitCredential);
  });

  it("give each run of a batch claim the token its own repo can see, and no other repo's", async () => {
    await drainQueue(runner);
    const otherUrl = "https://example.com/acme/other";
    const other = await world.ctx.http
      .post("/api/repos")
      .set(world.auth)
      .send({ repoUrl: otherUrl })
      .expect(201);
    const otherToken = value("other-git");
    await store("GITHUB_TOKEN", otherToken, other.body.repo.id);
    const tokenOf = new Map([
      [(await createTask({ agentType: "codex", repoUrl: CONNECTED })).id, repoToken],
      [(await createTask({ agentType: "codex", repoUrl: otherUrl })).id, otherToken],
      [(await createTask({ agentType: "codex" })).id, values.GITHUB_TOKEN],
    ]);
    const specs = await runner.claimBatch(3);
    expect(specs).toHaveLength(3);
    for (const spec of specs) {
      expect(spec.gitCredential).toEqual({
        source: "inline",
        username: "x-access-token",
        secret: tokenOf.get(spec.taskId),
      });
      expect(spec.secretEnv).toEqual({ OPENAI_API_KEY: values.OPENAI_API_KEY });
    }
  });

  it("give a codex run on an unconnected repo the OpenAI key and the global git token", async () => {
    await drainQueue(runner);
    await createTask({ agentType: "codex" });
    const spec = (await runner.claim()) as RunSpec;
    expect(spec.secretEnv).toEqual({ OPENAI_API_KEY: values.OPENAI_API_KEY });
    expect(spec.gitCredential).toEqual({
      source: "inline",
      username: "x-access-token",
      secret: values.GITHUB_TOKEN,
    });
  });

  it("give each agent its own model endpoint, the repo's over the global one, and no other agent's", async () => {
    await drainQueue(runner);
    const repo = await world.ctx.prisma.repo.findUniqueOrThrow({ where: { repoUrl: CONNECTED } });
    await store("ANTHROPIC_BASE_URL", "http://claude-gateway.test:4000");
    await store("ANTHROPIC_BASE_URL", "http://repo-gateway.test:4000", repo.id);
    await store("OPENAI_BASE_URL", "http://codex-gateway.test:4000/v1");
    await store("CLAUDE_CODE_USE_BEDROCK", "1");
    await store("AWS_REGION", "eu-west-1");
    try {
      await createTask({ agentType: "claude" });
      const claude = (await runner.claim()) as RunSpec;
      expect(claude.secretEnv).toMatchObject({
        ANTHROPIC_BASE_URL: "http://claude-gateway.test:4000",
        CLAUDE_CODE_USE_BEDROCK: "1",
        AWS_REGION: "eu-west-1",
      });
      expect(claude.secretEnv.OPENAI_BASE_URL).toBeUndefined();
      await createTask({ agentType: "claude", repoUrl: CONNECTED });
      const scoped = (await runner.claim()) as RunSpec;
      expect(scoped.secretEnv.ANTHROPIC_BASE_URL).toBe("http://repo-gateway.test:4000");
      await createTask({ agentType: "codex" });
      const codex = (await runner.claim()) as RunSpec;
      expect(codex.secretEnv).toEqual({
        OPENAI_API_KEY: values.OPENAI_API_KEY,
        OPENAI_BASE_URL: "http://codex-gateway.test:4000/v1",
      });
    } finally {
      for (const name of ["ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "CLAUDE_CODE_USE_BEDROCK", "AWS_REGION"])
        await world.ctx.http.delete(`/api/secrets/${name}`).set(world.auth).expect(200);
      await world.ctx.http
        .delete(`/api/secrets/ANTHROPIC_BASE_URL?scope=${repo.id}`)
        .set(world.auth)
        .expect(200);
    }
  });

  it("give a shell run no agent key", async () => {
    await drainQueue(runner);
    await createTask({ agentType: "shell" });
    const spec = (await runner.claim()) as RunSpec;
    expect(spec.secretEnv).toEqual({});
    expect(JSON.stringify(spec)).not.toContain(values.UNRELATED_SECRET);
  });

  it("give no git credential once no token is stored", async () => {
    await drainQueue(runner);
    await world.ctx.http.delete("/api/secrets/GITHUB_TOKEN").set(world.auth).expect(200);
    await createTask({ agentType: "codex" });
    const spec = (await runner.claim()) as RunSpec;
    expect(spec.gitCredential).toEqual({ source: "none" });
    await store("GITHUB_TOKEN", values.GITHUB_TOKEN);
  });
});

describe("reports", () => {
  it("are stored with every stored value scrubbed, including values stored after the run began", async () => {
    await drainQueue(runner);
    const { task, spec } = await startRun(runner);
    const late = value("stored-late");
    const line = (n: number, content: string, data?: Record<string, unknown>) => ({
      n,
      stream: "stdout" as const,
      type: "text" as const,
      time: new Date().toISOString(),
      content,
      ...(data ? { data } : {}),
    });
    // A careless runner: it sends what it saw, unredacted.
    await runner.report(spec, {
      kind: "log",
      lines: [
        line(1, `key=${values.ANTHROPIC_API_KEY} token=${repoToken}`),
        line(2, "tool", { input: { command: `curl -H "x: ${values.OPENAI_API_KEY}"` } }),
      ],
    });
    await eventually(
      "two lines",
      () => world.ctx.prisma.taskLog.count({ where: { runId: spec.runId } }),
      (n) => n === 2,
    );
    await store("LATE_SECRET", late);
    await runner.report(spec, { kind: "log", lines: [line(3, `late=${late}`)] });
    await runner.report(spec, {
      ...resultOk,
      exitCode: 1,
      pushed: false,
      error: { code: "AGENT_FAILED", message: `failed with ${values.CLAUDE_CODE_OAUTH_TOKEN}` },
    });
    await runner.report(spec, exited);
    await eventually(
      "run finished",
      () => world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } }),
      (run) => run.finishedAt !== null,
    );

    const logs = await world.ctx.prisma.taskLog.findMany({
      where: { runId: spec.runId },
      orderBy: { seq: "asc" },
    });
    expect(logs.map((l) => l.content)).toEqual([
      "key=[REDACTED] token=[REDACTED]",
      "tool",
      "late=[REDACTED]",
    ]);
    expect(logs[1]!.data).toEqual({ input: { command: 'curl -H "x: [REDACTED]"' } });
    const run = await world.ctx.prisma.run.findUniqueOrThrow({ where: { id: spec.runId } });
    expect(run.error).toBe("AGENT_FAILED: failed with [REDACTED]");

    // Nowhere the API keeps or answers anything: rows, the logs and task endpoints, the events.
    const api = await world.ctx.http.get(`/api/tasks/${task.id}/logs`).set(world.auth).expect(200);
    const taskView = await world.ctx.http.get(`/api/tasks/${task.id}`).set(world.auth).expect(200);
    const rows = JSON.stringify(
      [
        await world.ctx.prisma.$queryRaw`SELECT * FROM runs`,
        await world.ctx.prisma.$queryRaw`SELECT * FROM tasks`,
        await world.ctx.prisma.$queryRaw`SELECT * FROM task_events`,
        await world.ctx.prisma.$queryRaw`SELECT * FROM task_logs`,
        await world.ctx.prisma.$queryRaw`SELECT * FROM outbox_events`,
      ],
      bigints,
    );
    await world.ctx.publisher.drain();
    const events = JSON.stringify(world.ctx.events.events);
    for (const secret of [...Object.values(values), repoToken, late]) {
      for (const [where, text] of Object.entries({ rows, events, logs: api.text, task: taskView.text }))
        expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
    }
  });

  it("never put secrets on a JetStream stream: claims are request/reply on core NATS", async () => {
    const jsm = await jetstream(world.ctx.nats).jetstreamManager();
    const streams = await jsm.streams.list().next();
    const subjects = streams.flatMap((s) => s.config.subjects ?? []);
    // No stream subject takes a claim (`optio.runner.<id>.claim`) or anything on core NATS only.
    for (const claim of ["optio.runner.r1.claim", "optio.dispatch.wakeup", "optio.runner.r1.run.x.cancel"])
      expect(subjects.filter((s) => matches(s, claim))).toEqual([]);
    expect(streams.map((s) => s.config.name)).toContain(RUNS_STREAM);
  });
});
