// Every documented route must refuse callers without a valid credential. The inventory comes from
// the generated OpenAPI document, so a new route is covered the moment it exists.
import { createTestContext, type TestContext } from "../helpers/test-context";

const PUBLIC = new Set([
  "GET /api/health",
  "GET /api/setup/status",
  "POST /api/setup/complete",
  "POST /api/auth/login",
  "POST /api/auth/logout",
  // Verified by its signature instead (test/prloop/webhooks.test.ts).
  "POST /api/webhooks/github",
]);
const SAMPLE_ID = "00000000-0000-4000-8000-000000000000";

let ctx: TestContext;
let routes: { method: string; path: string }[];
let expiredSession: string;

beforeAll(async () => {
  ctx = await createTestContext();
  const doc = (await ctx.http.get("/api/openapi.json").expect(200)).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({
      method: method.toUpperCase(),
      path: path.replace(/\{[^}]+\}/g, SAMPLE_ID),
    })),
  );
  const admin = await ctx.adminToken();
  expiredSession = admin;
  await ctx.prisma.session.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } });
});
afterAll(() => ctx.close());

function send(method: string, path: string) {
  return ctx.http[method.toLowerCase() as "get"](path).send(
    method === "GET" || method === "DELETE" ? undefined : {},
  );
}

describe("route inventory", () => {
  it("documents the public entry points and the protected API", () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const name of PUBLIC) expect(names).toContain(name);
    expect(routes.length).toBeGreaterThan(PUBLIC.size + 5);
  });

  it("every protected route answers 401 AUTH_REQUIRED without a credential", async () => {
    for (const { method, path } of routes.filter((r) => !PUBLIC.has(`${r.method} ${r.path}`))) {
      const res = await send(method, path);
      expect({ route: `${method} ${path}`, status: res.status, code: res.body.code }).toEqual({
        route: `${method} ${path}`,
        status: 401,
        code: "AUTH_REQUIRED",
      });
    }
  });

  it("every protected route answers 401 AUTH_INVALID with a wrong token or an expired session", async () => {
    for (const { method, path } of routes.filter((r) => !PUBLIC.has(`${r.method} ${r.path}`))) {
      for (const credential of ["optio_pat_" + "0".repeat(64), expiredSession]) {
        const res = await send(method, path).set("authorization", `Bearer ${credential}`);
        expect({ route: `${method} ${path}`, status: res.status, code: res.body.code }).toEqual({
          route: `${method} ${path}`,
          status: 401,
          code: "AUTH_INVALID",
        });
      }
      const viaCookie = await send(method, path).set("cookie", `optio_session=${expiredSession}`);
      expect(viaCookie.status).toBe(401);
    }
  });

  it("serves the browsable documentation", async () => {
    const res = await ctx.http.get("/api/docs/").expect(200);
    expect(res.text).toContain("swagger");
  });

  it("answers unknown routes and malformed JSON in the error envelope", async () => {
    const missing = await ctx.http.get("/api/nope").expect(404);
    expect(missing.body).toEqual({ error: "Route GET /api/nope not found", code: "NOT_FOUND" });
    const malformed = await ctx.http
      .post("/api/setup/complete")
      .set("content-type", "application/json")
      .send('{"email": ')
      .expect(400);
    expect(malformed.body.code).toBe("VALIDATION_FAILED");
    expect(malformed.body.details[0].path).toBe("body");
  });
});
