// `optio webhook add|list|deliveries|rm`: the real CLI process against a listening test API.
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "../../../../packages/cli/test/cli-process";
import { createTestContext, type TestContext } from "../helpers/test-context";

jest.setTimeout(120_000); // each CLI process starts tsx: seconds on a loaded machine

let ctx: TestContext;
let env: Record<string, string>;

beforeAll(async () => {
  ctx = await createTestContext();
  await ctx.app.listen({ port: 0, host: "127.0.0.1" });
  env = {
    OPTIO_SERVER: `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`,
    OPTIO_TOKEN: await ctx.adminToken(),
    XDG_CONFIG_HOME: mkdtempSync(path.join(os.tmpdir(), "optio-cli-")),
  };
});
afterAll(() => ctx.close());

it("adds a webhook (printing the secret once), lists it, shows its deliveries and removes it", async () => {
  const added = await runCli(
    ["webhook", "add", "http://127.0.0.1:9/hook", "--event", "task.completed,task.failed", "--json"],
    env,
  );
  expect(added.code).toBe(0);
  const { webhook, secret } = JSON.parse(added.stdout) as {
    webhook: { id: string; events: string[] };
    secret: string;
  };
  expect(webhook.events).toEqual(["task.completed", "task.failed"]);
  expect(secret).toMatch(/^whsec_/);

  const listed = await runCli(["webhook", "list"], env);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(webhook.id);
  expect(listed.stdout).toContain("task.completed,task.failed");
  expect(listed.stdout).not.toContain(secret);

  const deliveries = await runCli(["webhook", "deliveries", webhook.id, "--json"], env);
  expect(deliveries.code).toBe(0);
  expect(JSON.parse(deliveries.stdout)).toEqual({ deliveries: [], total: 0 });

  expect((await runCli(["webhook", "rm", webhook.id], env)).code).toBe(0);
  expect(await ctx.prisma.notificationSubscription.count()).toBe(0);
});

it("refuses an unknown event type as a usage error (64) and a private target with the server's code", async () => {
  const usage = await runCli(["webhook", "add", "http://127.0.0.1:9/hook", "--event", "task.created"], env);
  expect(usage.code).toBe(64);
  expect(usage.stderr).toContain("must be one of");
  const refused = await runCli(["webhook", "add", "http://10.1.2.3/hook"], env);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("URL_FORBIDDEN");
  expect(await ctx.prisma.notificationSubscription.count()).toBe(0);
});
