import { PR_LOOP_DEFAULTS } from "@optio/core";
import { createTestContext, type TestContext } from "../helpers/test-context";

let ctx: TestContext;
let admin: { authorization: string };
let member: { authorization: string };
beforeAll(async () => {
  ctx = await createTestContext({ allowedRepoHosts: ["127.0.0.1"] });
  admin = { authorization: `Bearer ${await ctx.adminToken()}` };
  member = { authorization: `Bearer ${(await ctx.createMember()).token}` };
});
afterAll(() => ctx.close());

describe("POST /api/repos", () => {
  it.each([
    ["https://GitHub.com/Acme/WebApp.git/", "https://github.com/acme/webapp"],
    ["git@github.com:Acme/Tool.git", "https://github.com/acme/tool"],
    ["http://git.example.com:8080/team/svc", "http://git.example.com:8080/team/svc"],
    ["git://git.example.com/team/lib.git", "git://git.example.com/team/lib"],
    ["ssh://git@git.example.com:2222/team/infra.git", "ssh://git@git.example.com:2222/team/infra"],
  ])("normalises %s to %s and applies the default settings", async (input, normalised) => {
    const res = await ctx.http.post("/api/repos").set(admin).send({ repoUrl: input }).expect(201);
    expect(res.body.repo).toMatchObject({
      repoUrl: normalised,
      defaultBranch: "main",
      defaultAgentType: "claude",
      maxConcurrentTasks: 2,
      maxAttempts: 3,
      runTimeoutSeconds: 3600,
      image: "optio/agent:local",
      // The database's defaults are the PR loop's defaults (autoMerge, autoResume, reviewEnabled, …).
      ...PR_LOOP_DEFAULTS,
    });
    const row = await ctx.prisma.repo.findUniqueOrThrow({ where: { id: res.body.repo.id } });
    expect(row.repoUrl).toBe(normalised);
  });

  it("refuses a second connection of the same repository in another spelling", async () => {
    const res = await ctx.http
      .post("/api/repos")
      .set(admin)
      .send({ repoUrl: "https://github.com/ACME/webapp" })
      .expect(409);
    expect(res.body.code).toBe("REPO_EXISTS");
    expect(await ctx.prisma.repo.count({ where: { repoUrl: "https://github.com/acme/webapp" } })).toBe(1);
  });

  it.each([
    "https://127.0.0.2/acme/x",
    "https://localhost/acme/x",
    "https://10.1.2.3/acme/x",
    "https://192.168.1.10/acme/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/acme/x",
    "git@172.16.0.5:acme/x",
  ])("refuses the private host in %s", async (repoUrl) => {
    const res = await ctx.http.post("/api/repos").set(admin).send({ repoUrl }).expect(400);
    expect(res.body.code).toBe("REPO_URL_FORBIDDEN");
    expect(res.body.details[0].path).toBe("body.repoUrl");
  });

  it("allows a private host listed in OPTIO_ALLOWED_REPO_HOSTS", async () => {
    await ctx.http
      .post("/api/repos")
      .set(admin)
      .send({ repoUrl: "http://127.0.0.1:9418/local/repo" })
      .expect(201);
  });

  it.each([
    "ftp://example.com/a/b",
    "file:///etc/passwd",
    "https://user:secret@example.com/a/b",
    "not a url",
    "https://example.com/",
  ])("refuses %s naming the field", async (repoUrl) => {
    const res = await ctx.http.post("/api/repos").set(admin).send({ repoUrl }).expect(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.details[0].path).toBe("body.repoUrl");
    expect(JSON.stringify(res.body)).not.toContain("secret");
  });

  it("is an admin action: a member gets 403 and nothing is written", async () => {
    const before = await ctx.prisma.repo.count();
    const res = await ctx.http
      .post("/api/repos")
      .set(member)
      .send({ repoUrl: "https://example.com/a/b" })
      .expect(403);
    expect(res.body.code).toBe("FORBIDDEN");
    expect(await ctx.prisma.repo.count()).toBe(before);
  });
});

describe("reading, updating and deleting repos", () => {
  it("lists with pagination and total for members too", async () => {
    const all = await ctx.http.get("/api/repos").set(member).expect(200);
    const page = await ctx.http.get("/api/repos?limit=2&offset=1").set(member).expect(200);
    expect(page.body.total).toBe(all.body.total);
    expect(page.body.repos).toHaveLength(2);
    expect(page.body.repos[0].id).toBe(all.body.repos[1].id);
    expect(page.body).toMatchObject({ limit: 2, offset: 1 });
  });

  it("updates settings, announces the change, and validates each field", async () => {
    const created = await ctx.http
      .post("/api/repos")
      .set(admin)
      .send({ repoUrl: "https://example.com/t/settings" })
      .expect(201);
    const id = created.body.repo.id as string;
    const res = await ctx.http
      .patch(`/api/repos/${id}`)
      .set(admin)
      .send({
        maxConcurrentTasks: 5,
        defaultAgentType: "claude-code",
        autoMerge: true,
        reviewTrigger: "on_pr",
        mergeMethod: "rebase",
        maxAutoResumes: 1,
      })
      .expect(200);
    expect(res.body.repo).toMatchObject({
      maxConcurrentTasks: 5,
      defaultAgentType: "claude",
      autoMerge: true,
      reviewTrigger: "on_pr",
      mergeMethod: "rebase",
      maxAutoResumes: 1,
    });
    const event = await ctx.events.waitFor((e) => e.subject === `optio.repo.${id}.updated`);
    expect(event).toMatchObject({ type: "repo.updated", source: "optio-api" });
    expect(event.data).toMatchObject({ repo: { maxConcurrentTasks: 5 } });

    const bad = await ctx.http
      .patch(`/api/repos/${id}`)
      .set(admin)
      .send({ maxConcurrentTasks: 0, repoUrl: "x", reviewTrigger: "sometimes", mergeMethod: "octopus" })
      .expect(400);
    expect(bad.body.details.map((d: { path: string }) => d.path).sort()).toEqual([
      "body.maxConcurrentTasks",
      "body.mergeMethod",
      "body.repoUrl",
      "body.reviewTrigger",
    ]);
    await ctx.http.patch(`/api/repos/${id}`).set(member).send({ autoMerge: false }).expect(403);
    expect((await ctx.prisma.repo.findUniqueOrThrow({ where: { id } })).maxConcurrentTasks).toBe(5);
  });

  it("deletes, then answers 404 with REPO_NOT_FOUND", async () => {
    const created = await ctx.http
      .post("/api/repos")
      .set(admin)
      .send({ repoUrl: "https://example.com/t/gone" })
      .expect(201);
    const id = created.body.repo.id as string;
    await ctx.http.delete(`/api/repos/${id}`).set(admin).expect(200);
    const res = await ctx.http.get(`/api/repos/${id}`).set(member).expect(404);
    expect(res.body.code).toBe("REPO_NOT_FOUND");
    await ctx.events.waitFor((e) => e.subject === `optio.repo.${id}.deleted`);
    await ctx.http.get("/api/repos/not-a-uuid").set(member).expect(400);
  });
});
