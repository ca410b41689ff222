import { createTestContext, TEST_PASSWORD, type TestContext } from "../helpers/test-context";

let ctx: TestContext;
let admin: { authorization: string };
beforeAll(async () => {
  ctx = await createTestContext();
  admin = { authorization: `Bearer ${await ctx.adminToken()}` };
});
afterAll(() => ctx.close());

describe("user administration", () => {
  it("lets an admin add users; emails are unique regardless of case", async () => {
    const res = await ctx.http
      .post("/api/users")
      .set(admin)
      .send({ email: "Dev@Example.test", password: TEST_PASSWORD, name: "Dev" })
      .expect(201);
    expect(res.body.user).toMatchObject({ email: "dev@example.test", role: "member", active: true });
    const dup = await ctx.http
      .post("/api/users")
      .set(admin)
      .send({ email: "dev@EXAMPLE.test", password: TEST_PASSWORD })
      .expect(409);
    expect(dup.body.code).toBe("EMAIL_TAKEN");
    const list = await ctx.http.get("/api/users").set(admin).expect(200);
    expect(list.body.total).toBe(2);
    expect(JSON.stringify(list.body)).not.toContain("scrypt");
  });

  it("refuses members with 403 FORBIDDEN, before validating their input", async () => {
    const member = { authorization: `Bearer ${(await ctx.createMember()).token}` };
    expect((await ctx.http.get("/api/users").set(member).expect(403)).body.code).toBe("FORBIDDEN");
    await ctx.http.post("/api/users").set(member).send({ nonsense: true }).expect(403);
  });

  it("deactivating a user ends their sessions and tokens at once", async () => {
    const { id, token } = await ctx.createMember();
    const pat = await ctx.http
      .post("/api/auth/tokens")
      .set("authorization", `Bearer ${token}`)
      .send({ name: "ci" })
      .expect(201);
    await ctx.http.patch(`/api/users/${id}`).set(admin).send({ active: false }).expect(200);
    await ctx.http.get("/api/auth/me").set("authorization", `Bearer ${token}`).expect(401);
    await ctx.http.get("/api/auth/me").set("authorization", `Bearer ${pat.body.token}`).expect(401);
  });

  it("promotes a member, and never demotes the last active admin", async () => {
    const { id } = await ctx.createMember();
    const promoted = await ctx.http.patch(`/api/users/${id}`).set(admin).send({ role: "admin" }).expect(200);
    expect(promoted.body.user.role).toBe("admin");
    await ctx.http.patch(`/api/users/${id}`).set(admin).send({ role: "member" }).expect(200);

    const me = await ctx.http.get("/api/auth/me").set(admin).expect(200);
    const res = await ctx.http
      .patch(`/api/users/${me.body.user.id}`)
      .set(admin)
      .send({ role: "member" })
      .expect(409);
    expect(res.body.code).toBe("CONFLICT");
    await ctx.http.patch(`/api/users/${me.body.user.id}`).set(admin).send({}).expect(400);
  });

  it("displayName: stored, returned by /auth/me, defaulting to name; blank is refused", async () => {
    const created = await ctx.http
      .post("/api/users")
      .set(admin)
      .send({ email: "shown@example.test", password: TEST_PASSWORD, name: "Ada L.", displayName: "Ada" })
      .expect(201);
    expect(created.body.user).toMatchObject({ name: "Ada L.", displayName: "Ada" });
    const row = await ctx.prisma.user.findUniqueOrThrow({ where: { id: created.body.user.id } });
    expect(row.displayName).toBe("Ada");
    const login = await ctx.http
      .post("/api/auth/login")
      .send({ email: "shown@example.test", password: TEST_PASSWORD })
      .expect(200);
    const me = await ctx.http
      .get("/api/auth/me")
      .set({ authorization: `Bearer ${login.body.token}` })
      .expect(200);
    expect(me.body.user.displayName).toBe("Ada");

    const updated = await ctx.http
      .patch(`/api/users/${created.body.user.id}`)
      .set(admin)
      .send({ displayName: "Countess" })
      .expect(200);
    expect(updated.body.user.displayName).toBe("Countess");
    const named = await ctx.http
      .post("/api/users")
      .set(admin)
      .send({ email: "named@example.test", password: TEST_PASSWORD, name: "Only Name" })
      .expect(201);
    expect(named.body.user.displayName).toBe("Only Name");
    const blank = await ctx.http
      .patch(`/api/users/${created.body.user.id}`)
      .set(admin)
      .send({ displayName: "  " })
      .expect(400);
    expect(blank.body.details[0].path).toBe("body.displayName");
  });
});
