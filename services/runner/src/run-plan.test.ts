import { envFile, planRun, PlanError, SESSION_IN_FILE } from "./run-plan";
import { firstTarFile, tarFiles } from "./tar";
import { runSpec, testConfig, testSecret } from "./testing/fixtures";

const anthropicKey = testSecret("sk-ant-");

const paths = { runDir: "/run/optio", workspace: "/workspace", env: {} };

describe("planRun", () => {
  const config = testConfig({
    OPTIO_RUNNER_MEMORY_MB: "1024",
    OPTIO_RUNNER_CPUS: "1.5",
    OPTIO_RUNNER_PIDS: "256",
  });

  it("puts the agent command, prompt and identity in files and env, with runner defaults", () => {
    const spec = runSpec({
      agentType: "claude",
      prompt: "Fix it",
      model: "opus",
      maxTurns: 7,
      maxCostUsd: 0.5,
      env: { FOO: "bar", OPTIO_TASK_ID: "spoofed" },
    });
    const plan = planRun(spec, { config, paths, gitCredentials: {} });
    expect(plan.image).toBe("optio/agent:local");
    expect(plan.limits).toEqual({ memoryMb: 1024, cpus: 1.5, pids: 256 });
    expect(plan.env).toMatchObject({
      FOO: "bar",
      OPTIO_TASK_ID: spec.taskId,
      OPTIO_RUN_ID: spec.runId,
      OPTIO_ATTEMPT: "1",
      OPTIO_REPO_URL: spec.repoUrl,
      OPTIO_BRANCH_NAME: spec.branchName,
      OPTIO_AGENT_TYPE: "claude",
    });
    const files = Object.fromEntries(plan.files.map((f) => [f.name, f.content.toString()]));
    expect(files["agent-cmd"]!.split("\0")).toEqual([
      "claude",
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
      "--dangerously-skip-permissions",
      "--input-format",
      "stream-json",
      "--replay-user-messages",
      "--max-turns",
      "7",
      "--max-budget-usd",
      "0.5",
      "--model",
      "opus",
      "",
    ]);
    // The prompt is the first message the agent reads on its stdin (more may follow while it runs).
    expect(files["agent-stdin"]).toBe("stream");
    expect(JSON.parse(files.prompt!)).toEqual({
      type: "user",
      message: { role: "user", content: [{ type: "text", text: "Fix it" }] },
    });
    expect(files["git-credential"]).toBeUndefined();
    expect(plan.labels).toEqual({
      "optio.managed": "true",
      "optio.run": spec.runId,
      "optio.task": spec.taskId,
      "optio.attempt": "1",
      "optio.runner": "test-runner",
    });
    expect(plan.timeoutMs).toBe(60_000);
  });

  it("keeps secrets out of env and marks them for redaction", () => {
    const spec = runSpec({
      secretEnv: { ANTHROPIC_API_KEY: anthropicKey },
      gitCredential: { source: "inline", username: "x-access-token", secret: "ghp_token123" },
      image: "custom:1",
      limits: { memoryMb: 64, cpus: 0.5, pids: 32 },
    });
    const plan = planRun(spec, { config, paths, gitCredentials: {} });
    expect(JSON.stringify(plan.env)).not.toContain("secret");
    expect(JSON.stringify(plan.env)).not.toContain("ghp_");
    const files = Object.fromEntries(plan.files.map((f) => [f.name, f]));
    expect(files["git-credential"]!.content.toString()).toBe("x-access-token\nghp_token123\n");
    expect(files["git-credential"]!.mode).toBe(0o400);
    expect(files["agent.env"]!.content.toString()).toBe(`ANTHROPIC_API_KEY=${anthropicKey}\0`);
    expect(plan.secrets.sort()).toEqual(["ghp_token123", anthropicKey]);
    expect(plan.image).toBe("custom:1");
    expect(plan.limits).toEqual({ memoryMb: 64, cpus: 0.5, pids: 32 });
  });

  it("points codex at the run's model gateway as a provider, and claude through its environment", () => {
    const openaiKey = testSecret("sk-");
    const codex = planRun(
      runSpec({
        agentType: "codex",
        secretEnv: { OPENAI_API_KEY: openaiKey, OPENAI_BASE_URL: "http://llm-gateway:4000/v1" },
      }),
      { config, paths, gitCredentials: {} },
    );
    const argv = codex.files
      .find((f) => f.name === "agent-cmd")!
      .content.toString()
      .split("\0");
    expect(argv).toContain('model_provider="optio"');
    expect(argv.join(" ")).toContain('base_url="http://llm-gateway:4000/v1",env_key="OPENAI_API_KEY"');
    expect(argv.join(" ")).not.toContain(openaiKey);
    const claude = planRun(
      runSpec({ agentType: "claude", secretEnv: { ANTHROPIC_BASE_URL: "http://llm-gateway:4000" } }),
      { config, paths, gitCredentials: {} },
    );
    expect(claude.files.find((f) => f.name === "agent-cmd")!.content.toString()).not.toContain("gateway");
    expect(claude.files.find((f) => f.name === "agent.env")!.content.toString()).toBe(
      "ANTHROPIC_BASE_URL=http://llm-gateway:4000\0",
    );
  });

  it("names the agent's session paths, and hands the task's kept sessions to the run", () => {
    const archive = Buffer.from("gzip bytes");
    const claude = planRun(runSpec({ agentType: "claude" }), {
      config,
      paths,
      gitCredentials: {},
      sessionArchive: archive,
    });
    expect(claude.env.OPTIO_AGENT_SESSION_PATHS).toBe(".claude/projects");
    expect(claude.files.find((f) => f.name === SESSION_IN_FILE)!.content).toEqual(archive);
    const shell = planRun(runSpec({ agentType: "shell" }), { config, paths, gitCredentials: {} });
    expect(shell.env.OPTIO_AGENT_SESSION_PATHS).toBeUndefined();
    expect(shell.files.map((f) => f.name)).not.toContain(SESSION_IN_FILE);
  });

  it("refuses a value with a NUL, which would split its entry, without quoting the value", () => {
    const plan = (over: Parameters<typeof runSpec>[0]) => () =>
      planRun(runSpec(over), { config, paths, gitCredentials: {} });
    expect(plan({ secretEnv: { API_KEY: `${testSecret("sk-")}\0PATH=/tmp` } })).toThrow(
      new PlanError("environment variable API_KEY contains a NUL byte"),
    );
    expect(plan({ title: "a\0b" })).toThrow(
      new PlanError("environment variable OPTIO_TASK_TITLE contains a NUL byte"),
    );
  });

  it("writes env files as NUL-terminated NAME=value entries, values byte for byte", () => {
    const value = `a 'quoted' "value"\n$(not run) \\ =x=`;
    expect(envFile({ ONE: value, TWO: "" }).toString()).toBe(`ONE=${value}\0TWO=\0`);
    for (const name of ["BAD NAME", "1ST", "A=B", ""])
      expect(() => envFile({ [name]: "x" })).toThrow(PlanError);
  });

  it("resolves runner-held git credentials by name and rejects unknown names", () => {
    const spec = runSpec({ gitCredential: { source: "runner", name: "github" } });
    const plan = planRun(spec, {
      config,
      paths,
      gitCredentials: { github: { username: "bot", secret: "s3cr3t-value" } },
    });
    expect(plan.files.find((f) => f.name === "git-credential")!.content.toString()).toBe(
      "bot\ns3cr3t-value\n",
    );
    expect(() => planRun(spec, { config, paths, gitCredentials: {} })).toThrow(/not configured/);
  });

  it("runs a shell prompt from the prompt file at the driver's path", () => {
    const plan = planRun(runSpec({ agentType: "shell" }), {
      config,
      paths: { runDir: "/tmp/x/run", workspace: "/tmp/x/ws", env: { OPTIO_RUN_DIR: "/tmp/x/run" } },
      gitCredentials: {},
    });
    const files = Object.fromEntries(plan.files.map((f) => [f.name, f.content.toString()]));
    expect(files["agent-cmd"]).toBe("bash\0/tmp/x/run/prompt\0");
    expect(files["agent-stdin"]).toBe("none");
    expect(plan.env.OPTIO_RUN_DIR).toBe("/tmp/x/run");
  });
});

describe("firstTarFile", () => {
  it("reads back the file of a one-file archive, past the directory entry", () => {
    const content = Buffer.alloc(1500, 7);
    const archive = tarFiles("optio", [{ name: "agent-session.out.tgz", content, mode: 0o600 }], 1000, 1000);
    expect(firstTarFile(archive)).toEqual(content);
    expect(firstTarFile(tarFiles("optio", [], 1000, 1000))).toBeNull();
  });
});
