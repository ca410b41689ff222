// Secrets through the API on a real Postgres and NATS: CRUD, roles, bad input, encryption at rest,
// key rotation, and that no value ever comes back out (responses, log output, events, errors).
// Property-based bad bodies for POST /api/secrets are in foundation/bad-input.test.ts.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { rowCounts } from "../helpers/row-counts";
import { SecretKey } from "../../src/secrets/secret-cipher";

const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk));
    done();
  },
});

const secretValue = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;
/** Every value this file stores: none may appear in any response, log line or event. */
const stored: string[] = [];
const remember = (value: string) => (stored.push(value), value);

let ctx: TestContext;
let admin: { authorization: string };
let repoId: string;
const responses: string[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ logStream: sink, authRateLimit: 100_000 });
  admin = { authorization: `Bearer ${await ctx.adminToken()}` };
  const repo = await ctx.http
    .post("/api/repos")
    .set(admin)
    .send({ repoUrl: "https://example.com/acme/secrets" })
    .expect(201);
  repoId = repo.body.repo.id;
});
afterAll(() => ctx.close());

/** Sends a request and keeps its raw response for the leak check at the end. */
async function call(method: "get" | "post" | "delete", path: string, body?: unknown, auth = admin) {
  const req = ctx.http[method](path).set(auth);
  const res = body === undefined ? await req : await req.send(body as object);
  responses.push(res.text);
  return res;
}

describe("CRUD", () => {
  it("stores a global secret, lists it without the value, replaces it, and deletes it", async () => {
    const first = remember(secretValue("first"));
    const created = await call("post", "/api/secrets", { name: "ANTHROPIC_API_KEY", value: first });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      secret: {
        name: "ANTHROPIC_API_KEY",
        scope: "global",
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
      name: "ANTHROPIC_API_KEY",
      scope: "global",
    });

    const second = remember(secretValue("second"));
    expect((await call("post", "/api/secrets", { name: "ANTHROPIC_API_KEY", value: second })).status).toBe(
      201,
    );
    expect(await ctx.prisma.secret.count({ where: { name: "ANTHROPIC_API_KEY" } })).toBe(1);
    expect(await ctx.services.secrets.resolve("ANTHROPIC_API_KEY", null)).toBe(second);

    const list = await call("get", "/api/secrets");
    expect(list.status).toBe(200);
    expect(list.body.secrets).toEqual([
      expect.objectContaining({ name: "ANTHROPIC_API_KEY", scope: "global" }),
    ]);
    expect(Object.keys(list.body.secrets[0]).sort()).toEqual(["createdAt", "name", "scope", "updatedAt"]);

    expect((await call("delete", "/api/secrets/ANTHROPIC_API_KEY")).body).toEqual({ ok: true });
    expect(await ctx.prisma.secret.count()).toBe(0);
    const again = await call("delete", "/api/secrets/ANTHROPIC_API_KEY");
    expect(again.status).toBe(404);
    expect(again.body.code).toBe("SECRET_NOT_FOUND");
  });

  it("keeps a repo's secret apart from the global one; the repo's wins for that repo only", async () => {
    const global = remember(secretValue("global-token"));
    const own = remember(secretValue("repo-token"));
    await call("post", "/api/secrets", { name: "GITHUB_TOKEN", value: global }).then((r) =>
      expect(r.status).toBe(201),
    );
    const scoped = await call("post", "/api/secrets", { name: "GITHUB_TOKEN", value: own, scope: repoId });
    expect(scoped.status).toBe(201);
    expect(scoped.body.scope).toBe(repoId);

    expect(await ctx.services.secrets.resolve("GITHUB_TOKEN", repoId)).toBe(own);
    expect(await ctx.services.secrets.resolve("GITHUB_TOKEN", null)).toBe(global);
    const other = "00000000-0000-4000-8000-000000000000";
    expect(await ctx.services.secrets.resolve("GITHUB_TOKEN", other)).toBe(global);
    expect(await ctx.services.secrets.resolve("NOT_STORED", repoId)).toBeNull();
    // A scoped reader (one read for a claimed run) resolves the same way, and only for its repo.
    const scope = await ctx.services.secrets.scope(repoId);
    expect(await scope.resolve("GITHUB_TOKEN", repoId)).toBe(own);
    expect(await scope.resolve("NOT_STORED", repoId)).toBeNull();
    await expect(scope.resolve("GITHUB_TOKEN", other)).rejects.toThrow(/only for its own repo/);

    const onlyRepo = await call("get", `/api/secrets?scope=${repoId}`);
    expect(onlyRepo.body.secrets.map((s: { scope: string }) => s.scope)).toEqual([repoId]);
    expect((await call("get", "/api/secrets")).body.total).toBe(2);

    // DELETE without a scope removes the global one; with the repo's id, the repo's.
    await call("delete", "/api/secrets/GITHUB_TOKEN").then((r) => expect(r.status).toBe(200));
    expect(await ctx.services.secrets.resolve("GITHUB_TOKEN", null)).toBeNull();
    expect(await ctx.services.secrets.resolve("GITHUB_TOKEN", repoId)).toBe(own);
    await call("delete", `/api/secrets/GITHUB_TOKEN?scope=${repoId}`).then((r) => expect(r.status).toBe(200));
    expect(await ctx.prisma.secret.count()).toBe(0);
  });

  it("removes a repo's secrets with the repo", async () => {
    const repo = await ctx.http
      .post("/api/repos")
      .set(admin)
      .send({ repoUrl: "https://example.com/acme/doomed" })
      .expect(201);
    const value = remember(secretValue("doomed"));
    await call("post", "/api/secrets", { name: "OPENAI_API_KEY", value, scope: repo.body.repo.id });
    await ctx.http.delete(`/api/repos/${repo.body.repo.id}`).set(admin).expect(200);
    expect(await ctx.prisma.secret.count({ where: { scope: repo.body.repo.id } })).toBe(0);
  });

  it("announces changes on OPTIO_EVENTS with names and scopes only", async () => {
    const value = remember(secretValue("evented"));
    await call("post", "/api/secrets", { name: "EVENTED", value });
    await call("post", "/api/secrets", { name: "EVENTED", value: remember(secretValue("evented2")) });
    await call("delete", "/api/secrets/EVENTED");
    const deleted = await ctx.events.waitFor((e) => e.type === "secret.deleted" && e.data.name === "EVENTED");
    const sets = ctx.events.ofType("secret.set").filter((e) => e.data.name === "EVENTED");
    expect(sets.map((e) => e.data.created)).toEqual([true, false]);
    expect(deleted.data).toMatchObject({ name: "EVENTED", scope: "global" });
    expect(deleted.subject).toBe(`optio.secret.${deleted.data.secretId}.deleted`);
  });
});

describe("roles and bad input", () => {
  it("answers 401 without a credential and 403 to a member, writing nothing", async () => {
    const member = { authorization: `Bearer ${(await ctx.createMember()).token}` };
    await ctx.publisher.drain();
    const before = await rowCounts(ctx.prisma);
    const value = remember(secretValue("member"));
    const attempts = [
      await call("post", "/api/secrets", { name: "MEMBER_TRY", value }, member),
      await call("get", "/api/secrets", undefined, member),
      await call("delete", "/api/secrets/MEMBER_TRY", undefined, member),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("FORBIDDEN");
    }
    const anonymous = await ctx.http.post("/api/secrets").send({ name: "ANON", value });
    expect(anonymous.status).toBe(401);
    expect(await rowCounts(ctx.prisma)).toEqual(before);
  });

  it("names the field for values, names and scopes the schema or the database refuse", async () => {
    await ctx.publisher.drain();
    const before = await rowCounts(ctx.prisma);
    const short = remember("short12"); // 7 characters: too short to redact from logs
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "OK_NAME", value: short }, "body.value"],
      [{ name: "OK_NAME", value: remember(`two\n${secretValue("lines")}`) }, "body.value"],
      [{ name: "1BAD", value: remember(secretValue("bad-name")) }, "body.name"],
      [{ name: "BAD-NAME", value: remember(secretValue("bad-name")) }, "body.name"],
      [{ name: "OK_NAME", value: remember(secretValue("scope")), scope: "everywhere" }, "body.scope"],
      [
        {
          name: "OK_NAME",
          value: remember(secretValue("no-repo")),
          scope: "00000000-0000-4000-8000-000000000000",
        },
        "body.scope",
      ],
      // Model endpoint settings have rules of their own: a URL Codex's TOML and Claude Code can take.
      [{ name: "OPENAI_BASE_URL", value: "ftp://gateway.test/v1" }, "body.value"],
      [{ name: "ANTHROPIC_BASE_URL", value: 'http://gateway.test/"}' }, "body.value"],
      [{ name: "CLAUDE_CODE_USE_BEDROCK", value: "yes" }, "body.value"],
      [{ name: "AWS_REGION", value: "EU WEST" }, "body.value"],
    ];
    for (const [body, path] of cases) {
      const res = await call("post", "/api/secrets", body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    const badScope = await call("delete", "/api/secrets/OK_NAME?scope=nowhere");
    expect(badScope.status).toBe(400);
    expect(badScope.body.details[0].path).toBe("query.scope");
    expect(await rowCounts(ctx.prisma)).toEqual(before);
  });
});

describe("at rest", () => {
  it("stores only ciphertext, bound to the secret's own row", async () => {
    const value = remember(secretValue("at-rest"));
    await call("post", "/api/secrets", { name: "AT_REST", value });
    const row = await ctx.prisma.secret.findFirstOrThrow({ where: { name: "AT_REST" } });
    expect(row.encrypted).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(row.encrypted).not.toContain(value);
    expect(row.encrypted).not.toContain(Buffer.from(value).toString("base64"));
    const dump = JSON.stringify(await ctx.prisma.$queryRaw`SELECT * FROM secrets`);
    expect(dump).not.toContain(value);

    // The same ciphertext copied under another name does not decrypt.
    await call("post", "/api/secrets", { name: "AT_REST_COPY", value: remember(secretValue("copy")) });
    await ctx.prisma.secret.updateMany({
      where: { name: "AT_REST_COPY" },
      data: { encrypted: row.encrypted },
    });
    await expect(ctx.services.secrets.resolve("AT_REST_COPY", null)).rejects.toThrow(/failed authentication/);
    await call("delete", "/api/secrets/AT_REST_COPY");
  });

  it("reads values written under the previous key after a rotation, and re-encrypts them", async () => {
    const value = remember(secretValue("rotated"));
    await call("post", "/api/secrets", { name: "ROTATED", value });
    const before = await ctx.prisma.secret.findFirstOrThrow({ where: { name: "ROTATED" } });
    const oldKey = process.env.OPTIO_SECRET_KEY!;
    const newKey = randomBytes(32).toString("hex");

    const rotated = await createTestContext({
      databaseUrl: ctx.databaseUrl,
      config: {
        OPTIO_SECRET_KEY: SecretKey.parse(newKey),
        OPTIO_SECRET_KEY_PREVIOUS: SecretKey.parse(oldKey),
      },
    });
    try {
      expect(await rotated.services.secrets.resolve("ROTATED", null)).toBe(value);
      const after = await rotated.prisma.secret.findFirstOrThrow({ where: { name: "ROTATED" } });
      expect(after.encrypted.split(":")[1]).not.toBe(before.encrypted.split(":")[1]);
      expect(after.updatedAt).toEqual(before.updatedAt);
    } finally {
      await rotated.close();
    }
    // The old key alone no longer reads it; the new key alone does.
    await expect(ctx.services.secrets.resolve("ROTATED", null)).rejects.toThrow(/unknown key/);
    // The log redactor's list skips what this API cannot read instead of failing every report.
    const readable = await ctx.services.secrets.values();
    expect(readable).not.toContain(value);
    expect(readable.length).toBe((await ctx.prisma.secret.count()) - 1);
    const newOnly = await createTestContext({
      databaseUrl: ctx.databaseUrl,
      config: { OPTIO_SECRET_KEY: SecretKey.parse(newKey) },
    });
    try {
      expect(await newOnly.services.secrets.resolve("ROTATED", null)).toBe(value);
    } finally {
      await newOnly.close();
    }
    await ctx.prisma.secret.deleteMany({ where: { name: "ROTATED" } });
  });
});

describe("setup", () => {
  it("reports which credentials exist, by name, and is set up with a git token and an agent key", async () => {
    await ctx.prisma.secret.deleteMany();
    const steps = async () => {
      const res = await ctx.http.get("/api/setup/status").expect(200);
      responses.push(res.text);
      return {
        isSetUp: res.body.isSetUp as boolean,
        done: (res.body.steps as { id: string; done: boolean }[]).filter((s) => s.done).map((s) => s.id),
      };
    };
    expect(await steps()).toEqual({ isSetUp: false, done: ["admin"] });
    await call("post", "/api/secrets", {
      name: "GITHUB_TOKEN",
      value: remember(secretValue("gh")),
      scope: repoId,
    });
    expect(await steps()).toEqual({ isSetUp: false, done: ["admin", "gitToken"] });
    await call("post", "/api/secrets", {
      name: "CLAUDE_CODE_OAUTH_TOKEN",
      value: remember(secretValue("oat")),
    });
    expect(await steps()).toEqual({
      isSetUp: true,
      done: ["admin", "gitToken", "claudeOAuthToken", "anyAgentKey"],
    });
    await call("post", "/api/secrets", { name: "OPENAI_API_KEY", value: remember(secretValue("oai")) });
    expect((await steps()).done).toContain("openaiKey");
  });
});

describe("never shown", () => {
  it("no stored value appears in any response, log line or event of this file", async () => {
    await ctx.publisher.drain();
    await new Promise((r) => setTimeout(r, 200)); // let the last events arrive at the collector
    const events = JSON.stringify(ctx.events.events);
    const log = logLines.join("");
    expect(stored.length).toBeGreaterThan(10);
    expect(log.length).toBeGreaterThan(0);
    for (const value of stored) {
      expect({ value, inResponses: responses.some((text) => text.includes(value)) }).toEqual({
        value,
        inResponses: false,
      });
      expect({ value, inLog: log.includes(value) }).toEqual({ value, inLog: false });
      expect({ value, inEvents: events.includes(value) }).toEqual({ value, inEvents: false });
    }
  });
});
