// A nats-server of the test's own: for tests that kill NATS, or that run the dispatch protocol and
// must not share queue groups and durable consumers with other test files.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectNats } from "../../src/nats/connection";

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type PrivateNats = {
  url: string;
  readonly child: ChildProcess;
  /** Kills the server (SIGKILL) and removes its store. */
  stop: () => Promise<void>;
  /** Kills the server and starts it again on the same port with the same JetStream store. */
  restart: (downMs?: number) => Promise<void>;
  /** The two halves of restart, for a test acting while the server is down. */
  kill: () => Promise<void>;
  start: () => Promise<void>;
};

async function untilReachable(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const nc = await connectNats(url, "probe");
      await nc.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nats-server at ${url} did not start`);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "optio-test-nats-"));
  const launch = () =>
    spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  let child = launch();
  const url = `nats://127.0.0.1:${port}`;
  const nats: PrivateNats = {
    url,
    get child() {
      return child;
    },
    stop: async () => {
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async (downMs = 500) => {
      await nats.kill();
      await new Promise((r) => setTimeout(r, downMs));
      await nats.start();
    },
    kill: () => kill(child),
    start: async () => {
      child = launch();
      await untilReachable(url);
    },
  };
  try {
    await untilReachable(url);
  } catch (err) {
    await nats.stop();
    throw err;
  }
  return nats;
}
