// Postgres stopped (killed, like a crash) for ten seconds under intake load, then started again,
// with a real durable cluster of the test's own. Counts, not times: every 201 is in the database,
// clients got 503 (never 500) while it was down, intake recovers by itself, and every created task's
// event is on the stream exactly once.
import { eventually } from "../helpers/eventually";
import { createdEventCounts, startIntakeLoad, statusCounts } from "../helpers/intake-load";
import { startPrivatePostgres, type PrivatePostgres } from "../helpers/private-postgres";
import { createTestContext, type TestContext } from "../helpers/test-context";

jest.setTimeout(300_000);

let pg: PrivatePostgres;
let ctx: TestContext;
beforeAll(async () => {
  pg = await startPrivatePostgres();
  ctx = await createTestContext({ databaseUrl: pg.url });
}, 120_000);
afterAll(async () => {
  await ctx?.close();
  pg?.remove();
});

it("Postgres down for 10 s under intake load: 503s, not 500s; no 201 lost; events once; recovers by itself", async () => {
  const { token } = await ctx.createMember();
  const load = startIntakeLoad(ctx.http, token, { clients: 6, repoUrl: "http://127.0.0.1/acme/outage" });
  await eventually(
    "intake running",
    () => load.createdSince(0),
    (n) => n >= 20,
    60_000,
  );

  pg.kill();
  const down = load.answers.length;
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  pg.start();
  const restarted = load.answers.length;
  await eventually(
    "intake recovers by itself",
    () => load.createdSince(restarted),
    (n) => n >= 20,
    120_000,
  );
  await load.stop();

  const all = statusCounts(load.answers);
  const whileDown = statusCounts(load.answers.slice(down, restarted));
  expect(Object.keys(all).sort()).toEqual(["201", "503"]); // nothing else: no 500, no dropped request
  expect(whileDown[503]).toBeGreaterThan(0);

  const answered = load.createdIds();
  const rows = await ctx.prisma.task.findMany({ select: { id: true } });
  const stored = new Set(rows.map((row) => row.id));
  expect(answered.filter((id) => !stored.has(id))).toEqual([]); // every 201 is in the database
  expect(new Set(answered).size).toBe(answered.length);
  // A request whose commit succeeded just as the connection died may have been answered 503: it is
  // stored (and announced) all the same. Every stored task's event reaches the stream exactly once.
  const counts = await eventually(
    "every stored task announced",
    () => createdEventCounts(ctx.nats),
    (seen) => [...stored].every((id) => seen.has(id)),
    120_000,
  );
  expect([...stored].filter((id) => counts.get(id) !== 1)).toEqual([]);
});
