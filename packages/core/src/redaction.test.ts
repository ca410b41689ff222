import { MIN_REDACTED_LENGTH, Redactor } from "./redaction";

describe("Redactor", () => {
  it("removes known values wherever they appear, longest first, and ignores short ones", () => {
    const redactor = new Redactor(["s3cr3t-value", "s3cr3t-value-longer", "short", ""]);
    expect(redactor.redact("a=s3cr3t-value-longer b=s3cr3t-value c=short")).toBe(
      "a=[REDACTED] b=[REDACTED] c=short",
    );
    expect(new Redactor(["x".repeat(MIN_REDACTED_LENGTH - 1)]).size).toBe(0);
    expect(new Redactor(["x".repeat(MIN_REDACTED_LENGTH)]).size).toBe(1);
  });

  it("removes well-known token shapes and credentials in URLs, and leaves bare prefixes", () => {
    const redactor = new Redactor();
    const gh = "ghp_" + "a1".repeat(18);
    const ant = "sk-ant-api03-" + "x".repeat(30);
    const pat = "optio_pat_" + "f".repeat(64);
    expect(redactor.redact(`${gh} ${ant} ${pat}`)).toBe("[REDACTED] [REDACTED] [REDACTED]");
    expect(redactor.redact("cloning https://x-access-token:hunter22@git.example.com/a/b")).toBe(
      "cloning https://[REDACTED]@git.example.com/a/b",
    );
    expect(redactor.redact("plain text with sk- and ghp_ prefixes only")).toBe(
      "plain text with sk- and ghp_ prefixes only",
    );
  });

  it("redacts every string inside structured data, and `with` adds values", () => {
    const redactor = new Redactor(["first-secret"]).with(["second-secret"]);
    expect(
      redactor.redactDeep({ a: ["x first-secret"], b: 1, c: null, "second-secret": { d: "second-secret" } }),
    ).toEqual({ a: ["x [REDACTED]"], b: 1, c: null, "[REDACTED]": { d: "[REDACTED]" } });
    expect(redactor.size).toBe(2);
  });
});
