// NATS (a server of the test's own, JetStream store kept) stopped for ten seconds under intake load,
// then started again. Counts, not times: creates keep succeeding while it is down (the outbox holds
// the events), and once it is back every created task's event is on the stream exactly once.
import { eventually } from "../helpers/eventually";
import { createdEventCounts, startIntakeLoad, statusCounts } from "../helpers/intake-load";
import { startPrivateNats, type PrivateNats } from "../helpers/private-nats";
import { createTestContext, type TestContext } from "../helpers/test-context";

jest.setTimeout(300_000);

let nats: PrivateNats;
let ctx: TestContext;
beforeAll(async () => {
  nats = await startPrivateNats();
  ctx = await createTestContext({ nats: nats.forApi });
}, 120_000);
afterAll(async () => {
  await ctx?.close();
  await nats?.stop();
});

it("NATS down for 10 s under intake load: creates keep succeeding; every event published once it is back", async () => {
  const { token } = await ctx.createMember();
  const load = startIntakeLoad(ctx.http, token, { clients: 6, repoUrl: "http://127.0.0.1/acme/nats-outage" });
  await eventually(
    "intake running",
    () => load.createdSince(0),
    (n) => n >= 20,
    60_000,
  );

  await nats.kill();
  const down = load.answers.length;
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  await eventually(
    "creates while NATS is down",
    () => load.createdSince(down),
    (n) => n >= 20,
    60_000,
  );
  // The events of the tasks created meanwhile wait in the outbox.
  const held = await ctx.prisma.outboxEvent.count({ where: { publishedAt: null } });
  expect(held).toBeGreaterThanOrEqual(20);
  await nats.start();
  await load.stop();

  expect(statusCounts(load.answers)).toEqual({ 201: load.answers.length });
  const answered = load.createdIds();
  const counts = await eventually(
    "every created task announced",
    // JetStream requests time out while the client is still reconnecting: not yet, not a failure.
    () => createdEventCounts(ctx.nats).catch(() => new Map<string, number>()),
    (seen) => answered.every((id) => seen.has(id)),
    120_000,
  );
  expect(answered.filter((id) => counts.get(id) !== 1)).toEqual([]);
  // And the publisher has marked them all (its UPDATE follows the acks).
  await eventually(
    "outbox drained",
    () => ctx.prisma.outboxEvent.count({ where: { publishedAt: null } }),
    (n) => n === 0,
    60_000,
  );
});
