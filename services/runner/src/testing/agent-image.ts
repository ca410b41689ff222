// TEST ONLY. Agent image tags, each built once per content hash by scripts/build-agent-image.mjs:
// the test image (fake `claude`/`codex`) and the real-CLI image (the production Dockerfile).
import { execFileSync } from "node:child_process";
import path from "node:path";

/** A clean machine debootstraps the base image first (~95 s), then builds (~20 s): hooks need room. */
export const IMAGE_BUILD_TIMEOUT_MS = 15 * 60_000;

const tags = new Map<string, string>();

/** The tag build-agent-image.mjs prints for `flags`, building the image if no image has it. */
function imageTag(flags: string[]): string {
  const key = flags.join(" ");
  let tag = tags.get(key);
  if (!tag) {
    tag = execFileSync(
      process.execPath,
      [path.resolve(__dirname, "../../../../scripts/build-agent-image.mjs"), "--print-tag", ...flags],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 10 * 60_000 },
    ).trim();
    tags.set(key, tag);
  }
  return tag;
}

/** `optio/agent-test:<hash>`: bash, git, the entrypoint and the fake CLIs. */
export function testAgentImage(): string {
  return imageTag([]);
}

/**
 * `optio/agent-real:<hash>`: deploy/images/agent/Dockerfile, with the pinned Claude Code and Codex
 * (~40 s to build here once the base exists, 1.4 GB).
 */
export function realAgentImage(): string {
  return imageTag(["--real"]);
}
