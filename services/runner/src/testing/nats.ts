// TEST ONLY. A private nats-server with JetStream on a free 127.0.0.1 port, for tests that answer
// the runner protocol themselves (a shared server would let two files answer each other's claims).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestNats {
  url: string;
  stop(): Promise<void>;
}

export interface PrivateNats extends TestNats {
  /** Stops the server and starts it again on the same port and store (JetStream data kept). */
  restart(downMs?: number): Promise<void>;
}

async function waitForServer(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      const nc = await connect({ servers: url, reconnect: false });
      await nc.close();
      return;
    } catch (error) {
      if (i > 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A nats-server with JetStream of this test's own, on a free 127.0.0.1 port. */
export async function privateNats(): Promise<PrivateNats> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "optio-nats-"));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const start = () =>
    spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  const stopChild = async (child: ChildProcess) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  let child = start();
  await waitForServer(url);
  return {
    url,
    restart: async (downMs = 1000) => {
      await stopChild(child);
      await new Promise((r) => setTimeout(r, downMs));
      child = start();
      await waitForServer(url);
    },
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
