// The runner's Docker engine client, from its configuration.
import Docker from "dockerode";
import type { RunnerConfig } from "./config";

type EngineConfig = Pick<RunnerConfig, "DOCKER_HOST" | "DOCKER_SOCKET">;

/** dockerode options from DOCKER_HOST (unix:// or tcp://) or the socket path. */
function dockerOptions(config: EngineConfig): Docker.Options {
  const host = config.DOCKER_HOST;
  if (host?.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  if (host?.startsWith("tcp://")) {
    const url = new URL(host.replace(/^tcp:/, "http:"));
    return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
  }
  return { socketPath: config.DOCKER_SOCKET };
}

export function connectDocker(config: EngineConfig): Docker {
  return new Docker(dockerOptions(config));
}

/** The HTTP status of an engine error (dockerode sets statusCode), if any. */
export const statusOf = (error: unknown): number | undefined =>
  (error as { statusCode?: number } | undefined)?.statusCode;
