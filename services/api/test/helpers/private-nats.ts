// A nats-server of the test's own: for tests that kill NATS, or that run the dispatch protocol and
// must not share queue groups and durable consumers with other test files. It runs with
// production's authorization: the API connects as `api`, the test itself as `tool`, a runner as
// `await addRunner(id)` (loaded into the running server as an operator adds one).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { NatsCredentials } from "@optio/core";
import { TestNatsIdentities, untilAccepted } from "../../../runner/src/testing/nats-identities";

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
  /** The API's identity, and the test's own (the API's rights). */
  api: NatsCredentials;
  tool: NatsCredentials;
  /** The server and the API's identity, as createTestContext takes them. */
  forApi: { url: string; credentials: NatsCredentials };
  /** A runner identity, made and loaded into the running server on first use. */
  addRunner: (runnerId: string) => Promise<NatsCredentials>;
  readonly child: ChildProcess;
  /** Kills the server (SIGKILL) and removes its store. */
  stop: () => Promise<void>;
  /** Kills the server and starts it again on the same port with the same JetStream store. */
  restart: (downMs?: number) => Promise<void>;
  /** The two halves of restart, for a test acting while the server is down. */
  kill: () => Promise<void>;
  start: () => Promise<void>;
};

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "optio-test-nats-"));
  const identities = new TestNatsIdentities(dir, port);
  const launch = () => spawn("nats-server", ["-c", identities.configFile], { stdio: "ignore" });
  let child = launch();
  const url = `nats://127.0.0.1:${port}`;
  const untilReachable = () =>
    untilAccepted(url, identities.tool, 200).catch(() => {
      throw new Error(`nats-server at ${url} did not start`);
    });
  const nats: PrivateNats = {
    url,
    api: identities.api,
    tool: identities.tool,
    forApi: { url, credentials: identities.api },
    addRunner: async (runnerId) => {
      const { credentials, added } = identities.runner(runnerId);
      if (added) child.kill("SIGHUP"); // nats-server reloads its configuration
      await untilAccepted(url, credentials);
      return credentials;
    },
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
      await untilReachable();
    },
  };
  try {
    await untilReachable();
  } catch (err) {
    await nats.stop();
    throw err;
  }
  return nats;
}
