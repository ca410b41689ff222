// The fault suite (faults.suite.ts) with each runner's warm pool and repo cache on, all tasks in one
// repository so pool containers made for it serve them: runners killed with a full pool, NATS and
// the API restarted, many tasks at once; nothing lost, nothing run twice, no orphan left.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { faultSuite } from "./faults.suite";

const cacheRoot = mkdtempSync(path.join(os.tmpdir(), "optio-fault-cache-"));
chmodSync(cacheRoot, 0o755); // the container user reads the mirrors
afterAll(() => rmSync(cacheRoot, { recursive: true, force: true }));

faultSuite({
  runnerPrefix: "pooled",
  sharedRepo: true,
  runnerEnv: (runnerId) => ({
    OPTIO_RUNNER_WARM_POOL: "2",
    // One cache per runner, as on separate hosts (a cache directory belongs to one runner).
    OPTIO_RUNNER_REPO_CACHE: path.join(cacheRoot, runnerId),
  }),
});
