// The hot path's transactions (db/hot-sql.ts) on a real Postgres: values survive being inlined as
// literals, BEGIN and COMMIT ride with the statements, and a failure leaves nothing half-written.
import pg from "pg";
import { inTransaction } from "../../src/db/hot-sql";
import { Prisma } from "../../src/generated/prisma/client";
import { createTestDatabase } from "../helpers/test-context";

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await pool.query("CREATE TABLE probe (id int PRIMARY KEY, note text NOT NULL)");
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

beforeEach(() => pool.query("TRUNCATE probe"));

const notes = async () => (await pool.query("SELECT id, note FROM probe ORDER BY id")).rows;

describe("hot-sql transactions", () => {
  it("passes every kind of value through unchanged, quotes and backslashes included", async () => {
    const text = `it's a "quote", a back\\slash, a comma, {braces} and ünïcode`;
    const at = new Date("2026-12-02T10:11:12.345Z");
    const [row] = await inTransaction(pool, (tx) =>
      tx.query<Record<string, unknown>>(Prisma.sql`
        SELECT ${text}::text AS text, ${[text, null, "plain"]}::text[] AS list, ${null}::text AS nothing,
               ${42}::int AS number, ${12345678901234n}::int8 AS big, ${true}::bool AS flag,
               ${at}::timestamptz AS at, ${[]}::uuid[] AS empty`),
    );
    expect(row).toEqual({
      text,
      list: [text, null, "plain"],
      nothing: null,
      number: 42,
      big: 12345678901234n,
      flag: true,
      at,
      empty: [],
    });
  });

  it("refuses a value it has no literal for instead of guessing", async () => {
    await expect(
      inTransaction(pool, (tx) => tx.query(Prisma.sql`SELECT ${{ an: "object" }}::jsonb AS value`)),
    ).rejects.toThrow(/cannot bind a object/);
  });

  it("refuses a NUL character in text as Postgres does (SQLSTATE 22021), writing nothing", async () => {
    const write = inTransaction(pool, (tx) =>
      tx.commitWith(Prisma.sql`INSERT INTO probe VALUES (${1}, ${"before\u0000after"})`),
    );
    await expect(write).rejects.toMatchObject({ code: "22021" });
    expect(await notes()).toEqual([]);
  });

  it("commits with the last statement, and commits a transaction left open by its work", async () => {
    await inTransaction(pool, async (tx) => {
      await tx.query(Prisma.sql`INSERT INTO probe VALUES (${1}, ${"first"})`);
      await tx.commitWith(Prisma.sql`INSERT INTO probe VALUES (${2}, ${"last"})`);
      await expect(tx.query(Prisma.sql`SELECT 1 AS one`)).rejects.toThrow(/already committed/);
    });
    await inTransaction(pool, (tx) => tx.query(Prisma.sql`INSERT INTO probe VALUES (${3}, ${"open"})`));
    expect(await notes()).toEqual([
      { id: 1, note: "first" },
      { id: 2, note: "last" },
      { id: 3, note: "open" },
    ]);
  });

  it("rolls the whole transaction back when its committing statement fails, and the pool stays usable", async () => {
    await expect(
      inTransaction(pool, async (tx) => {
        await tx.query(Prisma.sql`INSERT INTO probe VALUES (${1}, ${"kept?"})`);
        await tx.commitWith(Prisma.sql`INSERT INTO probe VALUES (${1}, ${"duplicate key"})`);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await notes()).toEqual([]);
    await inTransaction(pool, (tx) => tx.commitWith(Prisma.sql`INSERT INTO probe VALUES (${1}, ${"again"})`));
    expect(await notes()).toEqual([{ id: 1, note: "again" }]);
  });

  it("rolls back when the work fails between statements", async () => {
    await expect(
      inTransaction(pool, async (tx) => {
        await tx.query(Prisma.sql`INSERT INTO probe VALUES (${1}, ${"kept?"})`);
        throw new Error("the publish failed");
      }),
    ).rejects.toThrow("the publish failed");
    expect(await notes()).toEqual([]);
  });

  it("runs several statements and the COMMIT in one message, each seeing what the one before did", async () => {
    const insert = (id: number) =>
      Prisma.sql`INSERT INTO probe VALUES (${id}, current_setting('probe.note'))`;
    const results = await inTransaction(pool, (tx) =>
      tx.commitWithAll([
        Prisma.sql`SELECT set_config('probe.note', ${"handed on"}, true) AS note`,
        insert(1),
        insert(2), // the same statement twice: prepared once in the message
        Prisma.sql`SELECT count(*)::int AS rows FROM probe`,
      ]),
    );
    expect(results).toEqual([[{ note: "handed on" }], [], [], [{ rows: 2 }]]);
    expect(await notes()).toEqual([
      { id: 1, note: "handed on" },
      { id: 2, note: "handed on" },
    ]);
  });

  it("writes none of a message's statements when a later one fails", async () => {
    await expect(
      inTransaction(pool, (tx) =>
        tx.commitWithAll([
          Prisma.sql`INSERT INTO probe VALUES (${1}, ${"kept?"})`,
          Prisma.sql`INSERT INTO probe VALUES (${1}, ${"duplicate key"})`,
        ]),
      ),
    ).rejects.toThrow(/duplicate key/);
    expect(await notes()).toEqual([]);
  });

  it("prepares a statement once per connection and runs it with its BEGIN in one message", async () => {
    const prepared = Prisma.sql`
      SELECT count(*)::int AS prepared, current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plans,
             (SELECT count(*)::int FROM pg_prepared_statements WHERE statement LIKE '%probe_marker%') AS mine
        FROM pg_prepared_statements WHERE name LIKE 'hot_%' AND ${"probe_marker"} <> ''`;
    // pg_prepared_statements shows the whole message a statement was prepared in: "mine" counts
    // the one whose message also carried the EXECUTE with the marker value.
    const single = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const first = await inTransaction(single, (tx) => tx.query(prepared));
      const second = await inTransaction(single, (tx) => tx.query(prepared));
      expect(first).toEqual([{ prepared: 1, jit: "off", plans: "force_generic_plan", mine: 1 }]);
      expect(second).toEqual(first); // the same one statement, not prepared again
    } finally {
      await single.end();
    }
  });
});
