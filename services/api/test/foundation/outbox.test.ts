import { jetstreamManager } from "@nats-io/jetstream";
import { EVENTS_STREAM } from "@optio/contracts";
import pino from "pino";
import { OutboxPublisher } from "../../src/events/outbox-publisher";
import { createTestContext, type TestContext } from "../helpers/test-context";

let ctx: TestContext;
let admin: { authorization: string };
beforeAll(async () => {
  ctx = await createTestContext();
  admin = { authorization: `Bearer ${await ctx.adminToken()}` };
});
afterAll(() => ctx.close());

/** How many messages the events stream holds on one subject. */
async function storedOn(subject: string): Promise<number> {
  const jsm = await jetstreamManager(ctx.nats);
  const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

const newPublisher = () =>
  new OutboxPublisher({ prisma: ctx.prisma, nats: ctx.nats, logger: pino({ level: "silent" }) });

describe("transactional outbox", () => {
  it("publishes a committed change once when the publisher died before publishing", async () => {
    await ctx.publisher.stop(); // the publisher is gone between commit and publish
    const res = await ctx.http
      .post("/api/repos")
      .set(admin)
      .send({ repoUrl: "https://example.com/outbox/one" })
      .expect(201);
    const subject = `optio.repo.${res.body.repo.id}.created`;
    const row = await ctx.prisma.outboxEvent.findFirstOrThrow({ where: { subject } });
    expect(row.publishedAt).toBeNull();
    expect(await storedOn(subject)).toBe(0);

    const restarted = newPublisher();
    expect(await restarted.drain()).toBeGreaterThanOrEqual(1);
    const event = await ctx.events.waitFor((e) => e.subject === subject);
    expect(event).toMatchObject({ id: row.id, type: "repo.created", source: "optio-api" });
    expect(event.data).toMatchObject({ repo: { repoUrl: "https://example.com/outbox/one" } });
    expect(await storedOn(subject)).toBe(1);
    expect(
      (await ctx.prisma.outboxEvent.findUniqueOrThrow({ where: { id: row.id } })).publishedAt,
    ).not.toBeNull();
  });

  it("does not publish twice when it died after publishing but before marking the row", async () => {
    const res = await ctx.http
      .post("/api/repos")
      .set(admin)
      .send({ repoUrl: "https://example.com/outbox/two" })
      .expect(201);
    const subject = `optio.repo.${res.body.repo.id}.created`;
    // The crash: marking the row fails after the message went out, so the transaction rolls back.
    await ctx.prisma.$executeRawUnsafe(`
      CREATE FUNCTION crash_before_mark() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'publisher killed'; END $$ LANGUAGE plpgsql;
      CREATE TRIGGER crash_before_mark BEFORE UPDATE ON outbox_events
        FOR EACH ROW EXECUTE FUNCTION crash_before_mark();`);
    const crashing = newPublisher();
    await crashing.drain();
    expect(await storedOn(subject)).toBe(1);
    expect((await ctx.prisma.outboxEvent.findFirstOrThrow({ where: { subject } })).publishedAt).toBeNull();

    await ctx.prisma.$executeRawUnsafe(
      `DROP TRIGGER crash_before_mark ON outbox_events; DROP FUNCTION crash_before_mark();`,
    );
    await newPublisher().drain();
    expect(
      (await ctx.prisma.outboxEvent.findFirstOrThrow({ where: { subject } })).publishedAt,
    ).not.toBeNull();
    expect(await storedOn(subject)).toBe(1); // deduplicated by message id
    expect(ctx.events.events.filter((e) => e.subject === subject)).toHaveLength(1);
  });

  it("keeps commit order on the stream", async () => {
    const restarted = newPublisher();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await ctx.http
        .post("/api/repos")
        .set(admin)
        .send({ repoUrl: `https://example.com/order/r${i}` })
        .expect(201);
      ids.push(res.body.repo.id);
    }
    await restarted.drain();
    await ctx.events.waitFor((e) => e.subject === `optio.repo.${ids[4]}.created`);
    const seen = ctx.events.events
      .filter((e) => ids.some((id) => e.subject === `optio.repo.${id}.created`))
      .map((e) => e.subject.split(".")[2]);
    expect(seen).toEqual(ids);
  });
});
