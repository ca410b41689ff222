// TEST ONLY. NATS for a test file: the stack's (NATS_URL from `npm test`), or a private nats-server
// with JetStream on a free 127.0.0.1 port when the file runs alone.
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

export async function testNats(): Promise<TestNats> {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, stop: async () => {} };
  const dir = mkdtempSync(path.join(os.tmpdir(), "optio-nats-"));
  const port = await freePort();
  const child: ChildProcess = spawn(
    "nats-server",
    ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir],
    { stdio: "ignore" },
  );
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const nc = await connect({ servers: url, reconnect: false });
      await nc.close();
      break;
    } catch (error) {
      if (i > 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
