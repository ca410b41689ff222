// Cached identities across two API replicas on one database and one NATS: a revocation made on one
// replica reaches the other through the NATS broadcast. Replica B caches for a minute, so only the
// broadcast (not the TTL back-stop) can explain B refusing the credential.
import { eventually } from "../helpers/eventually";
import { createTestContext, type TestContext } from "../helpers/test-context";

let a: TestContext;
let b: TestContext;
beforeAll(async () => {
  a = await createTestContext();
  b = await createTestContext({ databaseUrl: a.databaseUrl, config: { OPTIO_AUTH_CACHE_MS: 60_000 } });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

const me = (ctx: TestContext, token: string) =>
  ctx.http.get("/api/auth/me").set("authorization", `Bearer ${token}`);
const refusedOn = (ctx: TestContext, token: string) =>
  eventually(
    "the other replica refuses the credential",
    async () => (await me(ctx, token)).status,
    (status) => status === 401,
  );

it("a deactivated user is refused on the other replica, whose cache held the session", async () => {
  const admin = await a.adminToken();
  const member = await a.createMember();
  await me(b, member.token).expect(200); // cached on B
  await a.http
    .patch(`/api/users/${member.id}`)
    .set("authorization", `Bearer ${admin}`)
    .send({ active: false })
    .expect(200);
  await me(a, member.token).expect(401); // the replica that made the change: at once
  expect(await refusedOn(b, member.token)).toBe(401);
});

it("a deleted API token is refused on the other replica", async () => {
  const member = await a.createMember();
  const created = await a.http
    .post("/api/auth/tokens")
    .set("authorization", `Bearer ${member.token}`)
    .send({ name: "ci" })
    .expect(201);
  const pat = created.body.token as string;
  await me(b, pat).expect(200);
  await me(a, pat).expect(200);
  await a.http
    .delete(`/api/auth/tokens/${created.body.apiToken.id}`)
    .set("authorization", `Bearer ${member.token}`)
    .expect(200);
  await me(a, pat).expect(401);
  expect(await refusedOn(b, pat)).toBe(401);
  // The member's session was evicted too and is re-read: still valid.
  await me(b, member.token).expect(200);
});

it("logout ends the session on the other replica", async () => {
  const member = await a.createMember();
  await me(b, member.token).expect(200);
  await a.http.post("/api/auth/logout").set("cookie", `optio_session=${member.token}`).expect(200);
  expect(await refusedOn(b, member.token)).toBe(401);
});

it("a role change is seen by the other replica", async () => {
  const admin = await a.adminToken();
  const member = await a.createMember();
  await b.http.get("/api/users").set("authorization", `Bearer ${member.token}`).expect(403);
  await a.http
    .patch(`/api/users/${member.id}`)
    .set("authorization", `Bearer ${admin}`)
    .send({ role: "admin" })
    .expect(200);
  await eventually(
    "B sees the admin role",
    async () => (await b.http.get("/api/users").set("authorization", `Bearer ${member.token}`)).status,
    (status) => status === 200,
  );
});

it("records lastUsedAt off the request path, at most once a minute", async () => {
  const member = await a.createMember();
  const created = await a.http
    .post("/api/auth/tokens")
    .set("authorization", `Bearer ${member.token}`)
    .send({ name: "used" })
    .expect(201);
  const id = created.body.apiToken.id as string;
  await me(a, created.body.token).expect(200);
  const first = await eventually(
    "lastUsedAt written",
    () => a.prisma.apiToken.findUniqueOrThrow({ where: { id } }),
    (row) => row.lastUsedAt !== null,
  );
  await me(a, created.body.token).expect(200);
  await me(b, created.body.token).expect(200);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const later = await a.prisma.apiToken.findUniqueOrThrow({ where: { id } });
  expect(later.lastUsedAt).toEqual(first.lastUsedAt);
});
