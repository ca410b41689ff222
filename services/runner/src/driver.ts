// The seam between the runner and a container engine. Small enough for a Kubernetes driver
// (start = create a Job, wait = watch it, stop = delete with grace, list/remove = label selector).
import type { Readable } from "node:stream";
import type { RunErrorCode, RunnerDriver, WarmPool } from "@optio/contracts";
import type { RunPlan } from "./run-plan";

/** How a run ended, as far as the engine knows. */
export interface RunExit {
  /** Process/container exit code; null when killed without one. */
  exitCode: number | null;
  oomKilled: boolean;
}

export interface RunHandle {
  /** Container id / pid: for logs and `started` reports. */
  readonly id: string;
  /** The run's stdout and stderr, separated; both end after the run exits. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once when the run has exited. */
  wait(): Promise<RunExit>;
  /** SIGTERM, then SIGKILL after graceMs. Resolves when the run has exited. Idempotent. */
  stop(graceMs: number): Promise<void>;
  /** Removes what the run left (container, temporary directory). Call after wait(). */
  dispose(): Promise<void>;
  /**
   * A file the run left in its run directory, read after wait() and before dispose(); null when
   * there is none or it is larger than `maxBytes`. Drivers that cannot reach it leave this out.
   */
  readRunFile?(name: string, maxBytes: number): Promise<Buffer | null>;
  /**
   * Writes to the run's stdin (after its spec): an agent whose command reads `stream` input takes
   * it as its next message. Drivers that cannot reach a running agent's stdin leave this out.
   */
  write?(data: string): Promise<void>;
  /** Closes the run's stdin: a `stream` agent then ends once it has answered. Idempotent. */
  endInput?(): void;
}

/** A run found on the engine with this runner's labels. */
export interface RunningUnit {
  id: string;
  runId: string | null;
  taskId: string | null;
  attempt: number | null;
  running: boolean;
}

/** Where the run's input files and workspace live, as seen by the entrypoint. */
export interface RunPaths {
  runDir: string;
  workspace: string;
  /** Extra environment telling the entrypoint about non-default paths. */
  env: Record<string, string>;
}

export interface Driver {
  readonly name: RunnerDriver;
  /** false when runs share the runner's host, user and network (local driver). */
  readonly isolated: boolean;
  paths(runId: string, attempt: number): RunPaths;
  /** The engine's version, proving it is reachable at boot (container engines only). */
  ping?(): Promise<string>;
  start(plan: RunPlan): Promise<RunHandle>;
  /** Runs (containers) labelled as this runner's, e.g. left by a previous process. */
  list(): Promise<RunningUnit[]>;
  /** Force-removes one of them. */
  remove(id: string): Promise<void>;
  /** A warm pool, if the driver keeps one: start filling it (once orphans are removed). */
  warm?(): void;
  /** The warm pool's figures for presence (size, ready, used). */
  poolStats?(): WarmPool | undefined;
  /** At shutdown: releases what the driver holds besides runs (the warm pool). */
  close?(): Promise<void>;
}

/** A start failure with a stable code, reported in the run's `exited` report. */
export class DriverError extends Error {
  constructor(
    readonly code: RunErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "DriverError";
  }
}
