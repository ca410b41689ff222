#!/usr/bin/env node
// Builds the service images from deploy/Dockerfile: optio/{api,runner,migrations}:<version> and
// :local. The base is BASE_IMAGE when set (e.g. debian:bookworm-slim), else the local debootstrap
// base (no registry needed). The host's extra CA certificates go in as a build argument.
// Plain Node, no dependencies.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
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

/** Builds every target (later ones reuse the earlier ones' layers); returns the tags. */
export async function buildServiceImages({ base = process.env.BASE_IMAGE } = {}) {
  const baseImage = base ?? (await ensureBaseImage());
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
