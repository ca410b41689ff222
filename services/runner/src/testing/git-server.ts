// TEST ONLY. A smart-HTTP git server on 127.0.0.1 (CGI bridge to `git http-backend`) with Basic
// auth, serving bare repositories from a temporary directory; records every credential it sees.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

export interface GitServer {
  /** http://127.0.0.1:<port>/<name>.git */
  url(name: string): string;
  /** The bare repository's directory on disk. */
  dir(name: string): string;
  /** Creates a bare repository with one commit on `branch` (README.md). */
  createRepo(name: string, branch?: string): void;
  /**
   * Commits `file` with `content` on a branch through the repository's directory (not HTTP); the
   * new commit. `orphan`: the commit starts a new history that replaces the branch's (a force-push).
   */
  commitFile(
    name: string,
    file: string,
    content: string,
    opts?: { branch?: string; orphan?: boolean },
  ): string;
  /** `git` against a bare repository, e.g. ["log", "--format=%s", "optio/x"]. */
  git(name: string, args: string[]): string;
  /** Authorization headers seen (decoded "user:password"), in order. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startGitServer(
  auth: { username: string; password: string } | null,
): Promise<GitServer> {
  const root = mkdtempSync(path.join(os.tmpdir(), "optio-git-"));
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const header = req.headers.authorization;
    if (header?.startsWith("Basic ")) seen.push(Buffer.from(header.slice(6), "base64").toString());
    if (auth && header !== `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="optio-test"' }).end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        REMOTE_USER: "agent", // enables receive-pack
        REQUEST_METHOD: req.method,
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        CONTENT_LENGTH: req.headers["content-length"] ?? "",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      },
    });
    req.pipe(cgi.stdin);
    let buffer = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      let status = 200;
      for (const line of buffer.subarray(0, end).toString().split("\r\n")) {
        const [key = "", ...rest] = line.split(":");
        const value = rest.join(":").trim();
        if (key.toLowerCase() === "status") status = parseInt(value, 10);
        else res.setHeader(key, value);
      }
      res.writeHead(status);
      headersDone = true;
      res.write(buffer.subarray(end + 4));
    });
    cgi.stdout.on("end", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const git = (cwd: string, args: string[]) =>
    execFileSync("git", ["-c", "user.name=seed", "-c", "user.email=seed@test", ...args], {
      cwd,
      encoding: "utf8",
    });

  return {
    seen,
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    dir: (name) => path.join(root, `${name}.git`),
    createRepo(name, branch = "main") {
      const bare = path.join(root, `${name}.git`);
      execFileSync("git", ["init", "--quiet", "--bare", `--initial-branch=${branch}`, bare]);
      const seed = mkdtempSync(path.join(os.tmpdir(), "optio-seed-"));
      git(seed, ["init", "--quiet", `--initial-branch=${branch}`]);
      writeFileSync(path.join(seed, "README.md"), `# ${name}\n`);
      git(seed, ["add", "."]);
      git(seed, ["commit", "--quiet", "-m", "initial commit"]);
      git(seed, ["push", "--quiet", bare, `HEAD:refs/heads/${branch}`]);
      rmSync(seed, { recursive: true, force: true });
    },
    commitFile(name, file, content, { branch = "main", orphan = false } = {}) {
      const work = mkdtempSync(path.join(os.tmpdir(), "optio-push-"));
      try {
        execFileSync("git", ["clone", "--quiet", "--branch", branch, path.join(root, `${name}.git`), work]);
        if (orphan) {
          git(work, ["checkout", "--quiet", "--orphan", "optio-orphan"]);
          git(work, ["rm", "-rf", "--quiet", "."]);
        }
        writeFileSync(path.join(work, file), content);
        git(work, ["add", file]);
        git(work, ["commit", "--quiet", "-m", `${file} changed`]);
        git(work, ["push", "--quiet", "--force", "origin", `HEAD:refs/heads/${branch}`]);
        return git(work, ["rev-parse", "HEAD"]).trim();
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    git: (name, args) =>
      execFileSync("git", [`--git-dir=${path.join(root, `${name}.git`)}`, ...args], { encoding: "utf8" }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
