import { buildContainerSpec, buildSnapshotBuildSpec } from "./container-spec";
import { planRun } from "./run-plan";
import { runSpec, testConfig, testSecret } from "./testing/fixtures";

const paths = { runDir: "/run/optio", workspace: "/workspace", env: {} };

describe("buildContainerSpec", () => {
  it("limits resources, drops privileges and labels the container", () => {
    const config = testConfig({ OPTIO_RUNNER_NETWORK: "host" });
    const spec = runSpec({ limits: { memoryMb: 512, cpus: 1.5, pids: 128 }, image: "optio/agent-test:abc" });
    const plan = planRun(spec, { config, paths, gitCredentials: {} });
    const c = buildContainerSpec(plan, config);
    expect(c.name).toBe(`optio-run-${spec.runId}-1`);
    expect(c.Image).toBe("optio/agent-test:abc");
    expect(c.User).toBe("1000:1000");
    expect(c.HostConfig).toMatchObject({
      Memory: 512 * 1024 * 1024,
      MemorySwap: 512 * 1024 * 1024,
      NanoCpus: 1_500_000_000,
      PidsLimit: 128,
      CapDrop: ["ALL"],
      CapAdd: [],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      NetworkMode: "host",
      Binds: [],
    });
    expect(c.Labels).toMatchObject({
      "optio.run": spec.runId,
      "optio.task": spec.taskId,
      "optio.runner": "test-runner",
    });
    // The run's environment arrives on stdin with its files, never in the engine's config.
    expect(c.Env).toEqual(["OPTIO_SPEC_FROM_STDIN=1"]);
    expect(JSON.stringify(c.Env)).not.toContain(spec.runId);
    expect(c).toMatchObject({ OpenStdin: true, StdinOnce: true, AttachStdin: true });
    expect(c.Tty).toBe(false);
  });

  it("uses the configured network (bridge by default) and never mounts the Docker socket", () => {
    const config = testConfig();
    const c = buildContainerSpec(planRun(runSpec(), { config, paths, gitCredentials: {} }), config);
    expect(c.HostConfig.NetworkMode).toBe("bridge");
    expect(JSON.stringify(c)).not.toContain("docker.sock");
    expect(
      buildContainerSpec(
        planRun(runSpec(), {
          config: testConfig({ OPTIO_RUNNER_NETWORK: "none" }),
          paths,
          gitCredentials: {},
        }),
        testConfig({ OPTIO_RUNNER_NETWORK: "none" }),
      ).HostConfig.NetworkMode,
    ).toBe("none");
    const named = testConfig({ OPTIO_RUNNER_NETWORK: "optio-runs" });
    expect(
      buildContainerSpec(planRun(runSpec(), { config: named, paths, gitCredentials: {} }), named).HostConfig
        .NetworkMode,
    ).toBe("optio-runs");
    expect(() => testConfig({ OPTIO_RUNNER_NETWORK: "container:other" })).toThrow(/OPTIO_RUNNER_NETWORK/);
  });

  it("never puts secret values in the container's env or labels", () => {
    const config = testConfig();
    const [key, token] = [testSecret("sk-ant-"), testSecret("ghp_")];
    const spec = runSpec({
      secretEnv: { ANTHROPIC_API_KEY: key },
      gitCredential: { source: "inline", username: "u", secret: token },
    });
    const c = buildContainerSpec(planRun(spec, { config, paths, gitCredentials: {} }), config);
    expect(JSON.stringify(c)).not.toContain(key);
    expect(JSON.stringify(c)).not.toContain(token);
  });

  it("mounts only the run's own repo mirror, read-only, and nothing when the repo has none", () => {
    const config = testConfig({ OPTIO_RUNNER_REPO_CACHE: "/var/cache/optio" });
    const plan = planRun(runSpec(), { config, paths, gitCredentials: {} });
    expect(buildContainerSpec(plan, config).HostConfig.Binds).toEqual([]);
    expect(buildContainerSpec({ ...plan, repoMirror: "abc123" }, config).HostConfig.Binds).toEqual([
      "/var/cache/optio/abc123:/optio/cache/abc123:ro",
    ]);
  });
});

describe("buildSnapshotBuildSpec", () => {
  it("builds with a run's limits and hardening and its mirror read-only, but no network, stdin or secret", () => {
    const config = testConfig({ OPTIO_RUNNER_NETWORK: "host", OPTIO_RUNNER_REPO_CACHE: "/var/cache/optio" });
    const limits = { memoryMb: 512, cpus: 1, pids: 64 };
    const c = buildSnapshotBuildSpec(
      {
        image: "sha256:base",
        repoMirror: "abc.git",
        name: "optio-snapshot-x",
        labels: { "optio.runner": "r1" },
      },
      limits,
      "echo build",
      ["/optio/cache/abc.git", "main"],
      config,
    );
    expect(c).toMatchObject({
      name: "optio-snapshot-x",
      Image: "sha256:base",
      User: "1000:1000",
      Entrypoint: ["/bin/sh", "-c", "echo build", "optio-snapshot", "/optio/cache/abc.git", "main"],
      Labels: { "optio.runner": "r1" },
      OpenStdin: false,
      AttachStdin: false,
    });
    expect(c.HostConfig).toMatchObject({
      Memory: 512 * 1024 * 1024,
      PidsLimit: 64,
      CapDrop: ["ALL"],
      CapAdd: [],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      NetworkMode: "none", // though runs use the host's: the mirror is all it reads
      Binds: ["/var/cache/optio/abc.git:/optio/cache/abc.git:ro"],
      CpuShares: 2,
    });
    expect(c.Env).toEqual(["OPTIO_SPEC_FROM_STDIN=1"]); // nothing of any run
  });
});
