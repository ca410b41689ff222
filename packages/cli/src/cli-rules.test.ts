// The CLI's pure rules: which state ends a wait with which exit code, option values, and which
// server a stored token may be sent to.
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "commander";
import { resolveConnection, writeCredentials } from "./config";
import { ExitCode } from "./exit-codes";
import { duration, keyValue, list } from "./parsers";
import { exitCodeFor } from "./task-wait";

describe("exitCodeFor", () => {
  it.each([
    ["completed", "done", ExitCode.ok],
    ["pr_opened", "done", ExitCode.ok],
    ["pr_opened", "merged", null],
    ["completed", "merged", ExitCode.ok],
    ["failed", "done", ExitCode.failed],
    ["cancelled", "merged", ExitCode.cancelled],
    ["needs_attention", "done", ExitCode.needsAttention],
    ["running", "done", null],
    ["queued", "done", null],
    ["waiting_on_deps", "merged", null],
  ] as const)("%s with --until %s → %s", (state, until, code) => {
    expect(exitCodeFor(state, until)).toBe(code);
  });
});

describe("option values", () => {
  it("durations in s, m, h, ms; bare numbers are seconds", () => {
    expect([duration("90"), duration("90s"), duration("15m"), duration("2h"), duration("250ms")]).toEqual([
      90_000, 90_000, 900_000, 7_200_000, 250,
    ]);
    for (const bad of ["", "soon", "-5s", "0", "1d"])
      expect(() => duration(bad)).toThrow(InvalidArgumentError);
  });

  it("repeatable key=value and comma lists accumulate", () => {
    expect(keyValue("b=2=3", keyValue("a=1"))).toEqual({ a: "1", b: "2=3" });
    expect(() => keyValue("=x")).toThrow(InvalidArgumentError);
    expect(list("c", list("a, b"))).toEqual(["a", "b", "c"]);
  });
});

describe("resolveConnection", () => {
  it("flags over environment over the stored login; the stored token only goes to its server", () => {
    const env = { XDG_CONFIG_HOME: mkdtempSync(path.join(os.tmpdir(), "optio-cfg-")) };
    // Three generated tokens, one per source, so the winner is unambiguous.
    const [stored, fromEnv, fromFlag] = [1, 2, 3].map(() => `optio_${randomUUID()}`);
    writeCredentials(env, { server: "https://optio.example.com/", token: stored! });
    expect(resolveConnection({}, env)).toEqual({ server: "https://optio.example.com", token: stored });
    expect(resolveConnection({ server: "https://other.example.com" }, env)).toEqual({
      server: "https://other.example.com",
      token: undefined,
    });
    expect(resolveConnection({}, { ...env, OPTIO_TOKEN: fromEnv }).token).toBe(fromEnv);
    expect(resolveConnection({ apiKey: fromFlag }, { ...env, OPTIO_TOKEN: fromEnv }).token).toBe(fromFlag);
    expect(() => resolveConnection({ server: "ftp://x" }, env)).toThrow(/must be an http/);
  });
});
