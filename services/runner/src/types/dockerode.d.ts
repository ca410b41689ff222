// The part of dockerode 5's API the docker driver uses (the package ships no types).
declare module "dockerode" {
  import type { Readable, Writable } from "node:stream";

  namespace Docker {
    interface ContainerInspect {
      Id: string;
      State: { Running: boolean; ExitCode: number; OOMKilled: boolean; Status: string };
      HostConfig: Record<string, unknown>;
      Config: { User: string; Labels: Record<string, string>; Env: string[] };
    }
    interface ContainerSummary {
      Id: string;
      Names: string[];
      State: string;
      Labels: Record<string, string>;
    }
    interface Container {
      id: string;
      start(): Promise<unknown>;
      attach(options: {
        stream: boolean;
        stdout: boolean;
        stderr: boolean;
        logs?: boolean;
      }): Promise<NodeJS.ReadableStream>;
      wait(): Promise<{ StatusCode: number }>;
      inspect(): Promise<ContainerInspect>;
      kill(options?: { signal?: string }): Promise<unknown>;
      remove(options?: { force?: boolean; v?: boolean }): Promise<unknown>;
      putArchive(archive: Buffer | Readable, options: { path: string }): Promise<unknown>;
      /** GET /archive: a tar of the path (a stopped container's too). */
      getArchive(options: { path: string }): Promise<NodeJS.ReadableStream>;
      /** POST /commit: `_query` its query string, `_body` the image's config (docker-modem's split). */
      commit(options: { _query: Record<string, string>; _body: object }): Promise<{ Id: string }>;
    }
    interface ImageInspect {
      Id: string;
      Config: { Entrypoint: string[] | null; Cmd: string[] | null };
    }
    interface ImageSummary {
      Id: string;
      Created: number;
      Labels: Record<string, string> | null;
    }
    interface Image {
      inspect(): Promise<ImageInspect>;
      remove(options?: { force?: boolean }): Promise<unknown>;
    }
    interface Options {
      socketPath?: string;
      host?: string;
      port?: number;
      protocol?: "http" | "https";
    }
  }

  class Docker {
    constructor(options?: Docker.Options);
    modem: {
      demuxStream(stream: NodeJS.ReadableStream, stdout: Writable, stderr: Writable): void;
      followProgress(
        stream: NodeJS.ReadableStream,
        onFinished: (error: Error | null, output: unknown[]) => void,
      ): void;
    };
    createContainer(options: object): Promise<Docker.Container>;
    getContainer(id: string): Docker.Container;
    listContainers(options?: { all?: boolean; filters?: string }): Promise<Docker.ContainerSummary[]>;
    getImage(name: string): Docker.Image;
    listImages(options?: { filters?: string }): Promise<Docker.ImageSummary[]>;
    pull(ref: string): Promise<NodeJS.ReadableStream>;
    ping(): Promise<unknown>;
    version(): Promise<{ Version: string; ApiVersion: string }>;
  }
  export = Docker;
}
