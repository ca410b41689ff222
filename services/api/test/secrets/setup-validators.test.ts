// The setup validators probe a stand-in upstream on 127.0.0.1 through the real HTTP client: an
// accepted, a rejected and a failing upstream each give a JSON answer, never a 500 or the credential.
import { randomBytes } from "node:crypto";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { startCredentialUpstream, type CredentialUpstream } from "../helpers/credential-upstream";
import { CredentialValidator } from "../../src/setup/credential-validator";

const githubToken = `ghp_${randomBytes(18).toString("hex")}`;
const anthropicKey = `sk-ant-api03-${randomBytes(18).toString("hex")}`;
let upstream: CredentialUpstream;
let ctx: TestContext;
let admin: { authorization: string };

beforeAll(async () => {
  upstream = await startCredentialUpstream({ githubToken, anthropicKey });
  ctx = await createTestContext({
    config: { OPTIO_GITHUB_API_URL: upstream.url, OPTIO_ANTHROPIC_API_URL: `${upstream.url}/` },
  });
  admin = { authorization: `Bearer ${await ctx.adminToken()}` };
});
afterAll(async () => {
  await ctx.close();
  await upstream.close();
});
afterEach(() => {
  upstream.failWith = null;
});

const validate = (what: "github-token" | "anthropic-key", body: object, auth = admin) =>
  ctx.http.post(`/api/setup/validate/${what}`).set(auth).send(body);

it("accepts a token GitHub accepts and names its user", async () => {
  const res = await validate("github-token", { token: githubToken }).expect(200);
  expect(res.body).toEqual({ valid: true, user: { login: "octo", name: "Octo Cat" } });
  expect(upstream.received.at(-1)).toBe(`Bearer ${githubToken}`);
});

it("accepts a key Anthropic accepts", async () => {
  expect((await validate("anthropic-key", { key: anthropicKey }).expect(200)).body).toEqual({ valid: true });
  expect(upstream.received.at(-1)).toBe(anthropicKey);
});

it("answers valid: false with a reason when the upstream rejects or fails, without the credential", async () => {
  const wrongToken = `ghp_${randomBytes(18).toString("hex")}`;
  const wrongKey = `sk-ant-api03-${randomBytes(18).toString("hex")}`;
  const rejected = [
    await validate("github-token", { token: wrongToken }).expect(200),
    await validate("anthropic-key", { key: wrongKey }).expect(200),
  ];
  for (const res of rejected) {
    expect(res.body.valid).toBe(false);
    expect(res.body.error).toMatch(/rejected the credential \(401\)/);
  }
  upstream.failWith = 500;
  const failing = await validate("github-token", { token: githubToken }).expect(200);
  expect(failing.body).toEqual({ valid: false, error: "GitHub answered 500" });
  upstream.failWith = 403;
  const refused = await validate("anthropic-key", { key: anthropicKey }).expect(200);
  expect(refused.body.error).toMatch(/refused the request \(403\)/);
  for (const res of [...rejected, failing, refused])
    for (const secret of [wrongToken, wrongKey, githubToken, anthropicKey])
      expect(res.text).not.toContain(secret);
});

it("answers valid: false when the upstream cannot be reached", async () => {
  // A port that was just free on 127.0.0.1: nothing listens, the connection is refused at once.
  const closed = await startCredentialUpstream({ githubToken, anthropicKey });
  await closed.close();
  const unreachable = new CredentialValidator({ githubApiUrl: closed.url, anthropicApiUrl: closed.url });
  const answer = await unreachable.githubToken(githubToken);
  expect(answer).toEqual({ valid: false, error: "Could not reach GitHub (ECONNREFUSED)" });
  expect(JSON.stringify(await unreachable.anthropicKey(anthropicKey))).not.toContain(anthropicKey);
});

it("is for admins only and rejects a missing credential with 400 naming the field", async () => {
  const member = { authorization: `Bearer ${(await ctx.createMember()).token}` };
  const calls = upstream.received.length;
  expect((await validate("github-token", { token: githubToken }, member)).status).toBe(403);
  expect((await ctx.http.post("/api/setup/validate/anthropic-key").send({ key: anthropicKey })).status).toBe(
    401,
  );
  const missing = await validate("github-token", {}).expect(400);
  expect(missing.body.details.map((d: { path: string }) => d.path)).toContain("body.token");
  const extra = await validate("anthropic-key", { key: anthropicKey, token: "x" }).expect(400);
  expect(extra.body.details.map((d: { path: string }) => d.path)).toContain("body.token");
  expect(upstream.received.length).toBe(calls);
});
