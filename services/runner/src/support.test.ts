import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { loadConfig } from "./config";
import { forEachLine, MAX_LINE } from "./lines";
import { tarFiles } from "./tar";

describe("tarFiles", () => {
  it("writes an archive that tar extracts with names, contents and modes", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "optio-tar-"));
    const archive = tarFiles(
      "optio",
      [
        { name: "prompt", content: Buffer.from("héllo\n"), mode: 0o400 },
        { name: "big", content: Buffer.alloc(1500, 65), mode: 0o644 },
      ],
      1000,
      1000,
    );
    writeFileSync(path.join(dir, "a.tar"), archive);
    execFileSync("tar", ["-xf", "a.tar", "--no-same-owner"], { cwd: dir });
    expect(readFileSync(path.join(dir, "optio/prompt"), "utf8")).toBe("héllo\n");
    expect(readFileSync(path.join(dir, "optio/big")).length).toBe(1500);
    expect(statSync(path.join(dir, "optio/prompt")).mode & 0o777).toBe(0o400);
    expect(execFileSync("tar", ["-tvf", "a.tar"], { cwd: dir, encoding: "utf8" })).toMatch(/1000\/1000/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("forEachLine", () => {
  it("splits chunks into lines, handles CRLF, a last unterminated line and huge lines", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = forEachLine(stream, (l) => lines.push(l));
    stream.write("a\r\nb");
    stream.write("c\nd");
    stream.write("x".repeat(MAX_LINE + 10));
    stream.write("tail\nlast");
    stream.end();
    await done;
    expect(lines.slice(0, 2)).toEqual(["a", "bc"]);
    expect(lines[2]!.endsWith("[line cut]")).toBe(true);
    expect(lines.slice(3)).toEqual(["last"]);
  });
});

describe("config", () => {
  it("applies defaults and reports every problem at once", () => {
    const config = loadConfig({ OPTIO_RUNNER_ID: "r-1", OPTIO_RUNNER_LABELS: "gpu, region=eu" });
    expect(config).toMatchObject({
      OPTIO_RUNNER_SLOTS: 2,
      OPTIO_RUNNER_DRIVER: "docker",
      OPTIO_RUNNER_NETWORK: "bridge",
      OPTIO_RUNNER_LABELS: ["gpu", "region=eu"],
      OPTIO_RUNNER_AGENT_TYPES: ["claude", "codex", "shell"],
    });
    expect(() =>
      loadConfig({
        OPTIO_RUNNER_ID: "Bad Id",
        OPTIO_RUNNER_NETWORK: "container:other", // a network name, never another container's namespace
        OPTIO_RUNNER_SLOTS: "0",
        OPTIO_RUNNER_CONTAINER_USER: "0:0",
      }),
    ).toThrow(
      /OPTIO_RUNNER_ID[\s\S]*OPTIO_RUNNER_SLOTS[\s\S]*OPTIO_RUNNER_NETWORK[\s\S]*OPTIO_RUNNER_CONTAINER_USER/,
    );
  });

  it("reads the meter's price overrides as JSON, naming the entry that is wrong", () => {
    expect(loadConfig({ OPTIO_RUNNER_ID: "r-1" }).OPTIO_RUNNER_MODEL_PRICES).toEqual({});
    const prices = '{"my-model": {"input": 1, "output": 2}, "default": {"input": 3, "output": 15}}';
    expect(
      loadConfig({ OPTIO_RUNNER_ID: "r-1", OPTIO_RUNNER_MODEL_PRICES: prices }).OPTIO_RUNNER_MODEL_PRICES,
    ).toEqual({
      "my-model": { input: 1, output: 2 },
      default: { input: 3, output: 15 },
    });
    expect(() => loadConfig({ OPTIO_RUNNER_ID: "r-1", OPTIO_RUNNER_MODEL_PRICES: "{oops" })).toThrow(
      /OPTIO_RUNNER_MODEL_PRICES[\s\S]*JSON/,
    );
    expect(() =>
      loadConfig({ OPTIO_RUNNER_ID: "r-1", OPTIO_RUNNER_MODEL_PRICES: '{"m": {"input": -1, "output": 2}}' }),
    ).toThrow(/OPTIO_RUNNER_MODEL_PRICES\.m\.input/);
  });
});
