// TEST ONLY. The test agent image tag: built once per content hash by scripts/build-agent-image.mjs.
import { execFileSync } from "node:child_process";
import path from "node:path";

let tag: string | undefined;

/** A clean machine debootstraps the base image first (~95 s), then builds (~20 s): hooks need room. */
export const IMAGE_BUILD_TIMEOUT_MS = 15 * 60_000;

export function testAgentImage(): string {
  tag ??= execFileSync(
    process.execPath,
    [path.resolve(__dirname, "../../../../scripts/build-agent-image.mjs"), "--print-tag"],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 10 * 60_000,
    },
  ).trim();
  return tag;
}
