import fc from "fast-check";
import { z } from "zod";
import {
  CreateApiTokenBody,
  CreateRepoBody,
  CreateUserBody,
  CreateWebhookBody,
  LoginBody,
  RepoSettings,
  SetSecretBody,
  SetupCompleteBody,
} from "@optio/contracts";
import { createTestContext, TEST_PASSWORD, type TestContext } from "../helpers/test-context";
import { invalidBodies } from "../helpers/invalid-bodies";
import { rowCounts } from "../helpers/row-counts";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ authRateLimit: 100_000 });
});
afterAll(() => ctx.close());

type Endpoint = {
  name: string;
  method: "post" | "patch";
  path: () => string;
  valid: Record<string, unknown>;
  shape: Record<string, z.ZodType>;
  auth: boolean;
  partial?: boolean;
};

const shapeOf = (schema: z.ZodType) => (schema as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
let repoId = "";
let memberId = "";

const endpoints: Endpoint[] = [
  {
    name: "POST /api/auth/login",
    method: "post",
    path: () => "/api/auth/login",
    valid: { email: "admin@example.test", password: "x" },
    shape: shapeOf(LoginBody),
    auth: false,
  },
  {
    name: "POST /api/auth/tokens",
    method: "post",
    path: () => "/api/auth/tokens",
    valid: { name: "ci" },
    shape: shapeOf(CreateApiTokenBody),
    auth: true,
  },
  {
    name: "POST /api/users",
    method: "post",
    path: () => "/api/users",
    valid: { email: "new@example.test", password: TEST_PASSWORD, role: "member" },
    shape: shapeOf(CreateUserBody),
    auth: true,
  },
  {
    name: "PATCH /api/users/:id",
    method: "patch",
    path: () => `/api/users/${memberId}`,
    valid: { role: "member" },
    shape: {
      role: z.enum(["admin", "member"]),
      active: z.boolean(),
      name: z.string().trim().min(1).max(200),
    },
    auth: true,
    partial: true,
  },
  {
    name: "POST /api/repos",
    method: "post",
    path: () => "/api/repos",
    valid: { repoUrl: "https://example.com/fuzz/repo" },
    shape: { ...shapeOf(CreateRepoBody), repoUrl: z.string().trim().min(1).max(500) },
    auth: true,
  },
  {
    name: "PATCH /api/repos/:id",
    method: "patch",
    path: () => `/api/repos/${repoId}`,
    valid: { maxAttempts: 4 },
    shape: shapeOf(RepoSettings),
    auth: true,
    partial: true,
  },
  {
    name: "POST /api/secrets",
    method: "post",
    path: () => "/api/secrets",
    valid: { name: "FUZZED", value: "fuzzed-secret-value", scope: "global" },
    shape: shapeOf(SetSecretBody),
    auth: true,
  },
  {
    name: "POST /api/webhooks",
    method: "post",
    path: () => "/api/webhooks",
    valid: { url: "http://127.0.0.1:9/hook", events: ["task.completed"], description: "fuzzed" },
    shape: shapeOf(CreateWebhookBody),
    auth: true,
  },
];

/** The error names the field, or an element of it (an array of the wrong element type names the element). */
function expectNamed(body: { details: { path: string }[] }, path: string) {
  const paths = body.details.map((detail) => detail.path);
  expect(paths.some((named) => named === path || named.startsWith(`${path}.`))).toBe(true);
}

describe("bad input never writes and always names the field", () => {
  it("POST /api/setup/complete (before setup)", async () => {
    const before = await rowCounts(ctx.prisma);
    await fc.assert(
      fc.asyncProperty(
        invalidBodies({ email: "a@example.test", password: TEST_PASSWORD }, shapeOf(SetupCompleteBody)),
        async ({ body, path }) => {
          const res = await ctx.http
            .post("/api/setup/complete")
            .set("content-type", "application/json")
            .send(JSON.stringify(body));
          expect(res.status).toBe(400);
          expect(res.body.code).toBe("VALIDATION_FAILED");
          expectNamed(res.body, path);
        },
      ),
      { numRuns: 60 },
    );
    expect(await rowCounts(ctx.prisma)).toEqual(before);
  });

  describe("after setup", () => {
    let admin: string;
    beforeAll(async () => {
      admin = await ctx.adminToken();
      memberId = (await ctx.createMember()).id;
      const repo = await ctx.http
        .post("/api/repos")
        .set("authorization", `Bearer ${admin}`)
        .send({ repoUrl: "https://example.com/fuzz/existing" })
        .expect(201);
      repoId = repo.body.repo.id;
      // Let the publisher catch up so the outbox count is stable.
      await ctx.publisher.drain();
    });

    it.each(endpoints.map((e) => [e.name, e] as const))("%s", async (_name, endpoint) => {
      const before = await rowCounts(ctx.prisma);
      await fc.assert(
        fc.asyncProperty(invalidBodies(endpoint.valid, endpoint.shape, endpoint), async ({ body, path }) => {
          let req = ctx.http[endpoint.method](endpoint.path());
          if (endpoint.auth) req = req.set("authorization", `Bearer ${admin}`);
          const res = await req.set("content-type", "application/json").send(JSON.stringify(body));
          expect(res.status).toBe(400);
          expect(res.body.code).toBe("VALIDATION_FAILED");
          expectNamed(res.body, path);
          expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:|SELECT|INSERT/);
        }),
        { numRuns: 60 },
      );
      expect(await rowCounts(ctx.prisma)).toEqual(before);
    });

    it("rejects bad query strings and path ids with 400 naming them", async () => {
      const auth = { authorization: `Bearer ${admin}` };
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 201 }), fc.constantFrom("x", "1.5", "-1e3")),
          async (limit) => {
            const res = await ctx.http.get(`/api/repos?limit=${encodeURIComponent(String(limit))}`).set(auth);
            expect(res.status).toBe(400);
            expect(res.body.details[0].path).toBe("query.limit");
          },
        ),
        { numRuns: 30 },
      );
      const res = await ctx.http.get("/api/repos/12345").set(auth).expect(400);
      expect(res.body.details[0].path).toBe("params.id");
    });
  });
});
