import { Writable } from "node:stream";
import { createTestContext, TEST_PASSWORD, type TestContext } from "../helpers/test-context";

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    lines.push(String(chunk));
    done();
  },
});

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ logStream: sink });
});
afterAll(() => ctx.close());

it("never logs credentials: not the ?token= value, the bearer header, the cookie or the password", async () => {
  const token = await ctx.adminToken();
  await ctx.http.get(`/api/auth/me?token=${token}`).expect(200);
  await ctx.http.get("/api/auth/me").set("authorization", `Bearer ${token}`).expect(200);
  await ctx.http.get("/api/auth/me").set("cookie", `optio_session=${token}`).expect(200);
  await ctx.http
    .post("/api/auth/login")
    .send({ email: "admin@example.test", password: TEST_PASSWORD })
    .expect(200);
  await ctx.http.get("/api/repos?token=optio_pat_deadbeef&limit=5").expect(401);

  const log = lines.join("");
  expect(log).toContain("/api/auth/me?token=[REDACTED]");
  expect(log).toContain("/api/repos?token=[REDACTED]&limit=5");
  expect(log).not.toContain(token);
  expect(log).not.toContain(token.slice(11));
  expect(log).not.toContain("optio_pat_deadbeef");
  expect(log).not.toContain(TEST_PASSWORD);
});
