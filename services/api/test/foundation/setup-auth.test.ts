import { createTestContext, TEST_PASSWORD, type TestContext } from "../helpers/test-context";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ authRateLimit: 5 });
});
afterAll(() => ctx.close());

describe("health", () => {
  it("reports both dependencies and the version without a credential", async () => {
    const res = await ctx.http.get("/api/health").expect(200);
    expect(res.body).toEqual({ status: "ok", version: "test", checks: { database: "ok", nats: "ok" } });
  });
});

describe("setup", () => {
  it("creates the first admin once, sets the session cookie, then answers 409", async () => {
    expect((await ctx.http.get("/api/setup/status").expect(200)).body.isSetUp).toBe(false);

    const res = await ctx.http
      .post("/api/setup/complete")
      .send({ email: "Admin@Example.test", password: TEST_PASSWORD, name: "Ada" })
      .expect(201);
    expect(res.body.user).toMatchObject({
      email: "admin@example.test",
      role: "admin",
      name: "Ada",
      active: true,
    });
    expect(res.body.user.passwordHash).toBeUndefined();
    expect(res.body.token).toMatch(/^optio_sess_/);
    const cookie = String(res.headers["set-cookie"]);
    expect(cookie).toMatch(/optio_session=optio_sess_/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/);

    const again = await ctx.http
      .post("/api/setup/complete")
      .send({ email: "other@example.test", password: TEST_PASSWORD })
      .expect(409);
    expect(again.body.code).toBe("ALREADY_SET_UP");
    expect(await ctx.prisma.user.count()).toBe(1);
    const status = (await ctx.http.get("/api/setup/status").expect(200)).body;
    expect(status.steps.find((step: { id: string }) => step.id === "admin").done).toBe(true);
    expect(status.isSetUp).toBe(false); // no git token or agent key yet
  });

  it("stores only a slow hash of the password and a hash of the session token", async () => {
    const user = await ctx.prisma.user.findUniqueOrThrow({ where: { email: "admin@example.test" } });
    expect(user.passwordHash).toMatch(/^scrypt\$32768\$/);
    expect(user.passwordHash).not.toContain(TEST_PASSWORD);
    const sessions = await ctx.prisma.session.findMany({ where: { userId: user.id } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("credentials", () => {
  it("accepts the cookie, a bearer token and ?token=, and names the failure otherwise", async () => {
    const login = await ctx.http
      .post("/api/auth/login")
      .send({ email: "admin@example.test", password: TEST_PASSWORD })
      .expect(200);
    const token = login.body.token as string;
    await ctx.http.get("/api/auth/me").set("cookie", `optio_session=${token}`).expect(200);
    await ctx.http.get("/api/auth/me").set("authorization", `Bearer ${token}`).expect(200);
    const viaQuery = await ctx.http.get(`/api/auth/me?token=${token}`).expect(200);
    expect(viaQuery.body.user.email).toBe("admin@example.test");

    expect((await ctx.http.get("/api/auth/me").expect(401)).body.code).toBe("AUTH_REQUIRED");
    expect(
      (await ctx.http.get("/api/auth/me").set("authorization", "Bearer nope").expect(401)).body.code,
    ).toBe("AUTH_INVALID");
  });

  it("refuses a wrong password and an expired session", async () => {
    const wrong = await ctx.http
      .post("/api/auth/login")
      .send({ email: "admin@example.test", password: `wrong-${TEST_PASSWORD}` })
      .expect(401);
    expect(wrong.body).toMatchObject({ code: "AUTH_INVALID" });

    const login = await ctx.http
      .post("/api/auth/login")
      .send({ email: "admin@example.test", password: TEST_PASSWORD })
      .expect(200);
    await ctx.prisma.session.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await ctx.http
      .get("/api/auth/me")
      .set("authorization", `Bearer ${login.body.token}`)
      .expect(401);
    expect(res.body.code).toBe("AUTH_INVALID");
  });

  it("logout ends the session", async () => {
    const login = await ctx.http
      .post("/api/auth/login")
      .send({ email: "admin@example.test", password: TEST_PASSWORD })
      .expect(200);
    const cookie = `optio_session=${login.body.token}`;
    await ctx.http.post("/api/auth/logout").set("cookie", cookie).expect(200);
    await ctx.http.get("/api/auth/me").set("cookie", cookie).expect(401);
  });

  it("rate-limits logins per IP with the error envelope", async () => {
    let limited: { status: number; body: { code?: string } } | undefined;
    for (let i = 0; i < 8 && !limited; i++) {
      const res = await ctx.http
        .post("/api/auth/login")
        .send({ email: "x@example.test", password: "whatever-1" });
      if (res.status === 429) limited = res;
    }
    expect(limited?.body.code).toBe("RATE_LIMITED");
  });
});
