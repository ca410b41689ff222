// TEST ONLY. A unix-socket proxy in front of the real Docker engine, for a runner's DOCKER_HOST. It
// can play an engine restart without touching the shared engine: every open connection (attach
// streams, waits) is cut and new ones are refused for a while, as a restarting dockerd does.
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface DockerProxy {
  /** `unix://…` for DOCKER_HOST. */
  readonly host: string;
  /** Cuts every connection and refuses new ones until `back()`. */
  down(): void;
  back(): void;
  close(): Promise<void>;
}

export async function startDockerProxy(engineSocket = "/var/run/docker.sock"): Promise<DockerProxy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "optio-docker-proxy-"));
  const socketPath = path.join(dir, "docker.sock");
  const open = new Set<net.Socket>();
  let refusing = false;

  const server = net.createServer((client) => {
    if (refusing) return void client.destroy();
    const engine = net.connect(engineSocket);
    for (const socket of [client, engine]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {
        client.destroy();
        engine.destroy();
      });
    }
    client.pipe(engine);
    engine.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));

  return {
    host: `unix://${socketPath}`,
    down() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    back() {
      refusing = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
