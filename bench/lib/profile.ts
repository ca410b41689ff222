// Reads the V8 CPU profiles `node --cpu-prof` wrote (BENCH_PROFILE=<dir>) and prints the functions
// with the most self time: the "top frames" a benchmark run is compared by.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
};
type CpuProfile = { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] };

/** Now on the clock V8 stamps profile samples with (CLOCK_MONOTONIC, µs), shared by all processes. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/** Shortens a file URL to the package or repository path a reader recognises. */
function where(url: string, line: number): string {
  if (!url) return "";
  const modules = url.lastIndexOf("node_modules/");
  const short =
    modules >= 0
      ? url.slice(modules + "node_modules/".length)
      : url.replace(/^.*\/(services|packages)\//, "$1/");
  return `${short.replace(/^\.pnpm\/[^/]+\/node_modules\//, "")}:${line + 1}`;
}

/**
 * The `top` functions by self time over every profile in `dir`, in % of the busy (non-idle) time,
 * counting only samples within `window` (monotonicMicros() values: the measured load, not start-up).
 */
export function topFrames(dir: string, window: { from: number; to: number }, top = 15): string[] {
  const self = new Map<string, number>();
  let total = 0;
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    let at = profile.startTime;
    profile.samples.forEach((id, index) => {
      at += profile.timeDeltas[index] ?? 0;
      if (at < window.from || at > window.to) return;
      const frame = byId.get(id)!.callFrame;
      const key = `${frame.functionName || "(anonymous)"} ${where(frame.url, frame.lineNumber)}`.trim();
      const micros = profile.timeDeltas[index] ?? 0;
      if (key === "(idle)") return;
      self.set(key, (self.get(key) ?? 0) + micros);
      total += micros;
    });
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, micros]) => `${((100 * micros) / total).toFixed(1).padStart(5)} %  ${key}`);
}
