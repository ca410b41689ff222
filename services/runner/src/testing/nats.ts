// TEST ONLY. A private nats-server with JetStream on a free 127.0.0.1 port, for tests that answer
// the runner protocol themselves (a shared server would let two files answer each other's claims).
// It runs with production's authorization (nats-identities.ts): connect as `tool` to play the API,
// and as `await addRunner(id)` to be that runner.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import type { NatsCredentials } from "@optio/core";
import { TestNatsIdentities, untilAccepted } from "./nats-identities";

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
  /** The test itself, with the API's rights. */
  tool: NatsCredentials;
  /** A runner identity (made and loaded into the running server on first use). */
  addRunner(runnerId: string): Promise<NatsCredentials>;
  stop(): Promise<void>;
}

export interface PrivateNats extends TestNats {
  /** Stops the server and starts it again on the same port and store (JetStream data kept). */
  restart(downMs?: number): Promise<void>;
}

/** A nats-server with JetStream of this test's own, on a free 127.0.0.1 port. */
export async function privateNats(): Promise<PrivateNats> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "optio-nats-"));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const identities = new TestNatsIdentities(dir, port);
  const start = () => spawn("nats-server", ["-c", identities.configFile], { stdio: "ignore" });
  const stopChild = async (child: ChildProcess) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  let child = start();
  await untilAccepted(url, identities.tool);
  return {
    url,
    tool: identities.tool,
    addRunner: async (runnerId) => {
      const { credentials, added } = identities.runner(runnerId);
      if (added) child.kill("SIGHUP"); // nats-server reloads its configuration
      await untilAccepted(url, credentials);
      return credentials;
    },
    restart: async (downMs = 1000) => {
      await stopChild(child);
      await new Promise((r) => setTimeout(r, downMs));
      child = start();
      await untilAccepted(url, identities.tool);
    },
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
