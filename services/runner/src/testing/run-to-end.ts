// TEST ONLY. A started run read to its end: its exit and its stderr, its container removed.
import type { RunExit, RunHandle } from "../driver";
import { forEachLine } from "../lines";

export async function runToEnd(handle: RunHandle): Promise<{ exit: RunExit; stderr: string }> {
  const stderr: string[] = [];
  await Promise.all([
    forEachLine(handle.stdout, () => {}),
    forEachLine(handle.stderr, (l) => stderr.push(l)),
  ]);
  const exit = await handle.wait();
  await handle.dispose();
  return { exit, stderr: stderr.join("\n") };
}
