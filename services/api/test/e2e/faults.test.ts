// The fault suite (faults.suite.ts) with runners as configured by default: cold containers, no cache.
import { faultSuite } from "./faults.suite";

faultSuite({ runnerPrefix: "fault" });
