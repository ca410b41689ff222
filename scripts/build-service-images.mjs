#!/usr/bin/env node
// Builds the service images from deploy/Dockerfile: optio/{api,runner,migrations}:<version> and
// :local, each labelled with the hash of the sources it was built from (so callers can tell a stale
// image from a current one without rebuilding). The base is BASE_IMAGE when set (e.g. debian:bookworm-slim), else the local debootstrap
// base (no registry needed). The host's extra CA certificates go in as a build argument.
// Plain Node, no dependencies.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { ensureBaseImage } from "./build-agent-image.mjs";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const TARGETS = ["migrations", "runner", "api"];
export const VERSION = JSON.parse(
  readFileSync(path.join(repoRoot, "services/api/package.json"), "utf8"),
).version;

function extraCaCerts() {
  const dir = "/usr/local/share/ca-certificates";
  if (!existsSync(dir)) return "";
  return readdirSync(dir)
    .filter((f) => f.endsWith(".crt"))
    .map((f) => readFileSync(path.join(dir, f), "utf8").trim())
    .join("\n");
}

export const SOURCE_HASH_LABEL = "optio.source-hash";

/** Hash of the build context: every tracked or untracked-but-not-ignored file, path and content. */
export function sourceHash() {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: repoRoot,
    encoding: "utf8",
  })
    .split("\0")
    .filter(Boolean)
    .sort();
  const hash = createHash("sha256");
  for (const file of files) {
    const full = path.join(repoRoot, file);
    if (!existsSync(full)) continue; // deleted in the work tree, still in the index
    hash.update(`${file}\0`);
    hash.update(readFileSync(full));
  }
  return hash.digest("hex").slice(0, 16);
}

/** The source hash an image was built from, or undefined (missing image or no label). */
export function builtFrom(ref) {
  const result = spawnSync(
    "docker",
    ["image", "inspect", "--format", `{{index .Config.Labels "${SOURCE_HASH_LABEL}"}}`, ref],
    { encoding: "utf8" },
  );
  const label = result.status === 0 ? result.stdout.trim() : "";
  return label && label !== "<no value>" ? label : undefined;
}

/** Builds every target (later ones reuse the earlier ones' layers); returns the tags. */
export async function buildServiceImages({ base = process.env.BASE_IMAGE } = {}) {
  const baseImage = base ?? (await ensureBaseImage());
  const hash = sourceHash();
  const tags = [];
  for (const target of TARGETS) {
    const started = Date.now();
    const args = ["build", "--network", "host", "-f", "deploy/Dockerfile", "--target", target];
    for (const [key, value] of Object.entries({
      BASE_IMAGE: baseImage,
      VERSION,
      EXTRA_CA_CERTS: extraCaCerts(),
    }))
      args.push("--build-arg", `${key}=${value}`);
    args.push("--label", `${SOURCE_HASH_LABEL}=${hash}`);
    args.push("-t", `optio/${target}:${VERSION}`, "-t", `optio/${target}:local`, ".");
    const result = spawnSync("docker", args, {
      cwd: repoRoot,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
    });
    if (result.status !== 0) throw new Error(`docker build --target ${target} failed`);
    process.stderr.write(
      `[service-images] optio/${target}:${VERSION} built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    tags.push(`optio/${target}:${VERSION}`);
  }
  return tags;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  buildServiceImages()
    .then((tags) => process.stdout.write(`${tags.join("\n")}\n`))
    .catch((error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
