// Test helpers: the real `optio` process (bin/optio.cjs, as users run it) and a TCP proxy in front
// of the API that a test can cut, to drop the CLI's connections mid-wait.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

const BIN = path.resolve(__dirname, "../bin/optio.cjs");

// Never leave a CLI behind, even if jest force-exits this worker.
const running = new Set<ChildProcess>();
process.once("exit", () => running.forEach((child) => child.kill("SIGKILL")));

export type CliResult = { code: number | null; stdout: string; stderr: string };
export type CliProcess = { result: Promise<CliResult>; stderr: () => string; stdout: () => string };

/** Starts `optio <args>` with only the given environment (plus PATH and HOME), CI-style output. */
export function startCli(args: string[], env: Record<string, string> = {}, stdin?: string): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: "true", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin ?? "");
  running.add(child);
  child.on("close", () => running.delete(child));
  return {
    result: new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr }))),
    stderr: () => stderr,
    stdout: () => stdout,
  };
}

export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  return startCli(args, env, stdin).result;
}

/** A TCP proxy to `target`; `cut()` drops every connection and refuses new ones until `restore()`. */
export class CuttableProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private down = false;
  port = 0;

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => {
      if (this.down) return client.destroy();
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
