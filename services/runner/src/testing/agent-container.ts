// TEST ONLY. A long-lived container of an agent image to run CLIs in with `docker exec` (the docker
// CLI, as the other docker tests inspect with it): host networking (it reaches doubles on
// 127.0.0.1), user 1000, no capabilities, no new privileges. One container serves many CLI runs,
// each in its own git repository under /workspace; a test that needs a fresh HOME starts another.
import { execFileSync, spawn } from "node:child_process";

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout's non-empty lines. */
  lines: string[];
  /** The stdout lines that are JSON objects, parsed. */
  events: Array<Record<string, unknown>>;
  durationMs: number;
}

export interface ExecOptions {
  stdin?: string;
  env?: Record<string, string>;
  /** Working directory in the container (default /workspace). */
  cwd?: string;
  timeoutMs?: number;
}

const docker = (args: string[], input?: Buffer | string) =>
  execFileSync("docker", args, { input, maxBuffer: 256 * 1024 * 1024 });

function parseEvents(lines: string[]) {
  return lines.flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === "object" && value !== null && !Array.isArray(value)
        ? [value as Record<string, unknown>]
        : [];
    } catch {
      return [];
    }
  });
}

export class AgentContainer {
  private constructor(readonly id: string) {}

  static start(image: string, options: { label?: string; memoryMb?: number } = {}): AgentContainer {
    const id = docker([
      "run",
      "-d",
      "--network",
      "host",
      "--user",
      "1000:1000",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--memory",
      `${options.memoryMb ?? 2048}m`,
      "--pids-limit",
      "512",
      "--label",
      `optio.test=${options.label ?? "agent-container"}`,
      "--entrypoint",
      "sleep",
      image,
      "infinity",
    ])
      .toString()
      .trim();
    return new AgentContainer(id);
  }

  /** Runs argv in the container (stdin closed after `stdin`); never throws on a non-zero exit. */
  exec(argv: string[], options: ExecOptions = {}): Promise<CliRun> {
    const args = ["exec", "-i", "-w", options.cwd ?? "/workspace"];
    for (const [name, value] of Object.entries(options.env ?? {})) args.push("-e", `${name}=${value}`);
    const started = Date.now();
    const child = spawn("docker", [...args, this.id, ...argv], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.stdin.end(options.stdin ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        const stdout = Buffer.concat(out).toString("utf8");
        const lines = stdout.split("\n").filter((l) => l.trim() !== "");
        resolve({
          exitCode: code ?? (signal ? 128 : 1),
          stdout,
          stderr: Buffer.concat(err).toString("utf8"),
          lines,
          events: parseEvents(lines),
          durationMs: Date.now() - started,
        });
      });
    });
  }

  /** A bash script in the container; its stdout. Throws when it fails. */
  sh(script: string, cwd = "/workspace"): string {
    return docker(["exec", "-w", cwd, this.id, "bash", "-ec", script]).toString("utf8");
  }

  /** A new git repository with one commit at `dir` (absolute), owned by the container's user. */
  gitRepo(dir: string): string {
    this.sh(
      `mkdir -p '${dir}' && cd '${dir}' && git init -q -b main && echo '# test repo' > README.md && ` +
        `git add README.md && git -c user.name=t -c user.email=t@t commit -qm init`,
    );
    return dir;
  }

  readFile(path: string): string {
    return docker(["exec", this.id, "cat", path]).toString("utf8");
  }

  /** `paths` (absolute, relative to /) as a tar archive. */
  tar(paths: string[]): Buffer {
    return docker(["exec", this.id, "tar", "-C", "/", "-cf", "-", ...paths.map((p) => p.replace(/^\//, ""))]);
  }

  /** Extracts a tar archive made by `tar` at / (as the container's user). */
  untar(archive: Buffer): void {
    docker(["exec", "-i", this.id, "tar", "-C", "/", "-xf", "-"], archive);
  }

  remove(): void {
    docker(["rm", "-f", this.id]);
  }
}
