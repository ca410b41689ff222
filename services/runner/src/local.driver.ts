// The local driver: each run is a child process (the same entrypoint as in the image) in a
// temporary directory. For machines without a container engine. NOT isolated: runs share the
// runner's user, network and file system, and the limits are not enforced.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RunnerConfig } from "./config";
import {
  DriverError,
  type Driver,
  type RunExit,
  type RunHandle,
  type RunningUnit,
  type RunPaths,
} from "./driver";
import type { RunPlan } from "./run-plan";

/** deploy/images/agent/optio-run.sh in this checkout. */
export const DEFAULT_ENTRYPOINT = path.resolve(__dirname, "../../../deploy/images/agent/optio-run.sh");

interface UnitFile {
  runId: string;
  taskId: string;
  attempt: number;
  pid: number;
}

/** The agent's process group: optio-run starts the agent in a session of its own. */
function agentGroup(dir: string): number | undefined {
  try {
    const pgid = Number(readFileSync(path.join(dir, "run", "agent.pgid"), "utf8").trim());
    return pgid > 1 ? pgid : undefined;
  } catch {
    return undefined;
  }
}

function killGroups(groups: (number | undefined)[], signal: NodeJS.Signals): void {
  for (const pgid of groups) {
    if (!pgid) continue;
    try {
      process.kill(-pgid, signal);
    } catch {
      // already gone
    }
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export class LocalDriver implements Driver {
  readonly name = "local" as const;
  readonly isolated = false;
  private readonly root: string;
  private readonly entrypoint: string;

  constructor(private readonly opts: { config: RunnerConfig }) {
    const { config } = opts;
    this.root =
      config.OPTIO_RUNNER_WORK_DIR ?? path.join(os.tmpdir(), `optio-runner-${config.OPTIO_RUNNER_ID}`);
    this.entrypoint = config.OPTIO_RUNNER_ENTRYPOINT ?? DEFAULT_ENTRYPOINT;
  }

  private dir(runId: string, attempt: number): string {
    return path.join(this.root, `${runId}-${attempt}`);
  }

  paths(runId: string, attempt: number): RunPaths {
    const dir = this.dir(runId, attempt);
    const runDir = path.join(dir, "run");
    const workspace = path.join(dir, "ws");
    return {
      runDir,
      workspace,
      env: { OPTIO_RUN_DIR: runDir, OPTIO_WORKSPACE: workspace, HOME: path.join(dir, "home") },
    };
  }

  async start(plan: RunPlan): Promise<RunHandle> {
    if (!existsSync(this.entrypoint))
      throw new DriverError("CONTAINER_FAILED", `entrypoint ${this.entrypoint} not found`);
    const dir = this.dir(plan.runId, plan.attempt);
    if (existsSync(dir)) throw new DriverError("CONTAINER_FAILED", `run directory ${dir} already exists`);
    const paths = this.paths(plan.runId, plan.attempt);
    for (const d of [paths.runDir, paths.workspace, paths.env.HOME!])
      mkdirSync(d, { recursive: true, mode: 0o700 });
    for (const file of plan.files)
      writeFileSync(path.join(paths.runDir, file.name), file.content, { mode: file.mode });

    const child = spawn("bash", [this.entrypoint], {
      cwd: paths.workspace,
      // Only what the run needs: the runner's own environment (NATS URL, credentials) stays out.
      env: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        LANG: process.env.LANG ?? "C.UTF-8",
        ...plan.env,
      },
      detached: true, // its own process group: stop() signals everything it started
      stdio: ["pipe", "pipe", "pipe"], // stdin: more messages for an agent reading `stream` input
    });
    child.stdin!.on("error", () => {}); // EPIPE once the run has exited: nothing reads any more
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once("spawn", () => resolve(null));
      child.once("error", resolve);
    });
    if (spawned || child.pid === undefined) {
      rmSync(dir, { recursive: true, force: true });
      throw new DriverError("CONTAINER_FAILED", `could not start the run: ${spawned?.message ?? "no pid"}`);
    }
    const unit: UnitFile = { runId: plan.runId, taskId: plan.taskId, attempt: plan.attempt, pid: child.pid };
    writeFileSync(path.join(dir, "unit.json"), JSON.stringify(unit));
    return new LocalRunHandle(child, dir);
  }

  async list(): Promise<RunningUnit[]> {
    if (!existsSync(this.root)) return [];
    const units: RunningUnit[] = [];
    for (const name of readdirSync(this.root)) {
      let unit: UnitFile | undefined;
      try {
        unit = JSON.parse(readFileSync(path.join(this.root, name, "unit.json"), "utf8")) as UnitFile;
      } catch {
        unit = undefined;
      }
      units.push({
        id: name,
        runId: unit?.runId ?? null,
        taskId: unit?.taskId ?? null,
        attempt: unit?.attempt ?? null,
        running: unit ? alive(unit.pid) : false,
      });
    }
    return units;
  }

  async remove(id: string): Promise<void> {
    const dir = path.join(this.root, path.basename(id));
    try {
      const unit = JSON.parse(readFileSync(path.join(dir, "unit.json"), "utf8")) as UnitFile;
      killGroups([unit.pid, agentGroup(dir)], "SIGKILL");
    } catch {
      // never started
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

class LocalRunHandle implements RunHandle {
  private readonly exit: Promise<RunExit>;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    this.exit = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        const signo = signal ? (os.constants.signals[signal] ?? 9) : 0;
        resolve({ exitCode: code ?? 128 + signo, oomKilled: false });
      });
    });
  }

  get id(): string {
    return `pid:${this.child.pid}`;
  }
  get stdout() {
    return this.child.stdout!;
  }
  get stderr() {
    return this.child.stderr!;
  }

  write(data: string): Promise<void> {
    const stdin = this.child.stdin!;
    if (stdin.writableEnded) return Promise.reject(new Error("the run's input is closed"));
    return new Promise<void>((resolve, reject) =>
      stdin.write(data, (error) => (error ? reject(error) : resolve())),
    );
  }

  endInput(): void {
    this.child.stdin!.end();
  }

  wait(): Promise<RunExit> {
    return this.exit;
  }

  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      // SIGTERM to the entrypoint's group (it forwards to the agent); SIGKILL to both groups.
      const groups = () => [this.child.pid, agentGroup(this.dir)];
      const signal = (sig: NodeJS.Signals) =>
        killGroups(sig === "SIGTERM" ? [this.child.pid] : groups(), sig);
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      try {
        await this.exit;
      } finally {
        clearTimeout(timer);
        signal("SIGKILL"); // anything the entrypoint left behind in its group
      }
    })();
    return this.stopping;
  }

  async dispose(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async readRunFile(name: string, maxBytes: number): Promise<Buffer | null> {
    const file = path.join(this.dir, "run", name);
    const size = statSync(file, { throwIfNoEntry: false })?.size;
    return size === undefined || size > maxBytes ? null : readFileSync(file);
  }
}
