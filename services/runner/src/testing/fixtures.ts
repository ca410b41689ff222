// Test data factories for the runner's tests.
import { randomUUID } from "node:crypto";
import { RunSpec, type RunSpecInput } from "@optio/contracts";
import { loadConfig, type RunnerConfig } from "../config";

export function testConfig(env: Record<string, string> = {}): RunnerConfig {
  return loadConfig({
    OPTIO_RUNNER_ID: "test-runner",
    OPTIO_LOG_LEVEL: "silent",
    OPTIO_RUNNER_PULL: "never",
    ...env,
  });
}

export function runSpec(overrides: Partial<RunSpecInput> = {}): RunSpec {
  return RunSpec.parse({
    runId: randomUUID(),
    taskId: randomUUID(),
    attempt: 1,
    title: "Test task",
    repoUrl: "git://127.0.0.1:9/repo.git",
    repoBranch: "main",
    branchName: "optio/abcdef12-test-task",
    agentType: "shell",
    prompt: "echo hello",
    timeoutSeconds: 60,
    ...overrides,
  });
}

/** A fresh secret-looking value per test run (no credential literals in the repository). */
export function testSecret(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, "")}`;
}
