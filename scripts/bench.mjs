// `npm run bench [-- [--smoke] name ...]`: runs the benchmarks in bench/ (all, or those named, e.g.
// `dispatch`) one after another. Each starts its own throw-away Postgres and NATS and prints its
// figures beside a baseline measured in the same run; a Docker engine is started here if none
// answers. `--smoke` runs each with a second of load and a few tasks (BENCH_SMOKE=1): a check that
// every benchmark still runs (.ci/run does this), whose figures mean nothing.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bootstrap, repoRoot } from "./lib/bootstrap.mjs";
import { ensureDocker } from "./lib/services.mjs";
import { log } from "./lib/system.mjs";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const wanted = args.filter((arg) => arg !== "--smoke");
const benches = readdirSync(path.join(repoRoot, "bench"))
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name));
if (benches.length === 0) {
  log(`no benchmark named ${wanted.join(", ")}`);
  process.exit(2);
}

bootstrap();
const logs = mkdtempSync(path.join(os.tmpdir(), "optio-bench-logs-"));
const docker = await ensureDocker({ logFile: path.join(logs, "dockerd.log") });
let failed = 0;
try {
  for (const name of benches) {
    log(`bench/${name}.ts`);
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join("bench", `${name}.ts`)], {
      cwd: repoRoot,
      env: smoke ? { ...process.env, BENCH_SMOKE: "1" } : process.env,
      stdio: "inherit",
    });
    if (result.status !== 0) {
      failed++;
      log(`bench/${name}.ts failed (${result.status ?? result.signal})`);
    }
  }
} finally {
  await docker.stop();
  rmSync(logs, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
