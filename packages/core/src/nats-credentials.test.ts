import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { natsCredentials, natsUrlForLogs } from "./nats-credentials";

describe("natsCredentials", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "optio-nats-credentials-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the password from a file (without its newline), the user defaulting to the service's", () => {
    const file = path.join(dir, "pw");
    writeFileSync(file, "s3cret-from-file\n");
    expect(natsCredentials({ NATS_PASSWORD_FILE: file }, "runner-r1")).toEqual({
      user: "runner-r1",
      pass: "s3cret-from-file",
    });
    expect(natsCredentials({ NATS_USER: "other", NATS_PASSWORD: "x" }, "runner-r1")).toEqual({
      user: "other",
      pass: "x",
    });
  });

  it("is none when nothing is set, and refuses half or doubled settings without printing a value", () => {
    expect(natsCredentials({}, "optio-api")).toBeUndefined();
    expect(() => natsCredentials({ NATS_USER: "u" }, "optio-api")).toThrow(/without NATS_PASSWORD/);
    expect(() =>
      natsCredentials({ NATS_PASSWORD: "hunter2", NATS_PASSWORD_FILE: "/x" }, "optio-api"),
    ).toThrow(/both set/);
    const empty = path.join(dir, "empty");
    writeFileSync(empty, "\n");
    expect(() => natsCredentials({ NATS_PASSWORD_FILE: empty }, "optio-api")).toThrow(/empty/);
    expect(() => natsCredentials({ NATS_PASSWORD_FILE: path.join(dir, "missing") }, "a")).toThrow(/ENOENT/);
  });

  it("keeps credentials in a URL out of the logs", () => {
    expect(natsUrlForLogs("nats://u:p@127.0.0.1:4222")).toBe("nats://[REDACTED]@127.0.0.1:4222");
    expect(natsUrlForLogs("nats://127.0.0.1:4222")).toBe("nats://127.0.0.1:4222");
  });
});
