// Where a claim's time goes: the NATS round trip alone (a trivial responder on the same server),
// the API's whole claim (request → reply), and the claim's phases run in this process against the
// same database with the API's own code: its transaction (BEGIN, pick+lock, claim, COMMIT in one
// round trip) and run-spec building.
import { subjects } from "../../packages/contracts/src/subjects";
import { createPrisma, poolOf } from "../../services/api/src/db/prisma";
import { claimFromQueue } from "../../services/api/src/dispatch/claim.store";
import { buildRunSpec } from "../../services/api/src/dispatch/run-spec";
import type { connectNats } from "../../services/api/src/nats/connection";

type NatsConnection = Awaited<ReturnType<typeof connectNats>>;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** p50 of a trivial NATS request/reply (what any claim pays for the wire). */
export async function natsRoundTrip(nc: NatsConnection, count: number): Promise<number[]> {
  const subject = "bench.echo";
  const sub = nc.subscribe(subject, { callback: (_err, msg) => void msg.respond(msg.data) });
  const body = JSON.stringify({ runnerId: "bench", freeSlots: 1, agentTypes: ["codex"], labels: [] });
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await nc.request(subject, body, { timeout: 5_000 });
    times.push(performance.now() - started);
  }
  sub.unsubscribe();
  return times;
}

/** Whole claims over NATS to the API process. */
export async function claimRoundTrips(
  nc: NatsConnection,
  runnerId: string,
  count: number,
): Promise<number[]> {
  const body = JSON.stringify({ runnerId, freeSlots: 1, agentTypes: ["codex"], labels: [], batch: true });
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await nc.request(subjects.runnerClaim(runnerId), body, { timeout: 10_000 });
    times.push(performance.now() - started);
  }
  return times;
}

/** The claim's phases in this process (same SQL as the API), medians in ms. */
const PHASE_WARMUP = 5;

export async function claimPhases(databaseUrl: string, runnerId: string, count: number) {
  const prisma = createPrisma(databaseUrl);
  const phases = { transaction: [] as number[], spec: [] as number[] };
  const today = new Date().toISOString().slice(0, 10);
  // The API's gate with no daily cap in the environment (the setting, if any, is read in the SQL).
  const filter = {
    agentTypes: ["codex"],
    labels: [],
    limit: 1,
    skipped: [],
    budget: { day: today, envCapUsd: null },
  };
  try {
    // The first claims pay for the client's connection and query compiler: not what a claim costs.
    for (let i = -PHASE_WARMUP; i < count; i++) {
      const started = performance.now();
      const { claimed } = await claimFromQueue(poolOf(prisma), filter, {
        runnerId,
        claimId: null,
        leaseMs: 60_000,
      });
      const committed = performance.now();
      for (const row of claimed)
        buildRunSpec(row, row.runs[0]!, row.repo, { image: "x", timeoutSeconds: 60 });
      const specced = performance.now();
      if (i < 0) continue;
      phases.transaction.push(committed - started);
      phases.spec.push(specced - committed);
    }
  } finally {
    await prisma.$disconnect();
  }
  return Object.fromEntries(Object.entries(phases).map(([name, values]) => [name, median(values)])) as Record<
    keyof typeof phases,
    number
  >;
}
