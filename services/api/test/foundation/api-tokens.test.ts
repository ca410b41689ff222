import { createTestContext, type TestContext } from "../helpers/test-context";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe("API tokens", () => {
  it("shows the token once, lists without secrets, authenticates, and stops after deletion", async () => {
    const admin = await ctx.adminToken();
    const auth = { authorization: `Bearer ${admin}` };
    const created = await ctx.http.post("/api/auth/tokens").set(auth).send({ name: "ci" }).expect(201);
    const pat = created.body.token as string;
    expect(pat).toMatch(/^optio_pat_[0-9a-f]{64}$/);

    const list = await ctx.http.get("/api/auth/tokens").set(auth).expect(200);
    expect(list.body.total).toBe(1);
    expect(JSON.stringify(list.body)).not.toContain(pat.slice(10));
    expect(list.body.tokens[0]).toMatchObject({ name: "ci", lastFour: pat.slice(-4) });

    await ctx.http.get("/api/auth/me").set("authorization", `Bearer ${pat}`).expect(200);
    await ctx.http.delete(`/api/auth/tokens/${created.body.apiToken.id}`).set(auth).expect(200);
    await ctx.http.get("/api/auth/me").set("authorization", `Bearer ${pat}`).expect(401);
  });

  it("refuses an expired API token and an expiry in the past", async () => {
    const { token } = await ctx.createMember();
    const auth = { authorization: `Bearer ${token}` };
    const past = await ctx.http
      .post("/api/auth/tokens")
      .set(auth)
      .send({ name: "old", expiresAt: "2001-01-01T00:00:00Z" })
      .expect(400);
    expect(past.body.details[0].path).toBe("body.expiresAt");

    const created = await ctx.http
      .post("/api/auth/tokens")
      .set(auth)
      .send({ name: "soon", expiresAt: new Date(Date.now() + 60_000).toISOString() })
      .expect(201);
    await ctx.prisma.apiToken.update({
      where: { id: created.body.apiToken.id },
      data: { expiresAt: new Date(0) },
    });
    const res = await ctx.http
      .get("/api/auth/me")
      .set("authorization", `Bearer ${created.body.token}`)
      .expect(401);
    expect(res.body.code).toBe("AUTH_INVALID");
  });
});
