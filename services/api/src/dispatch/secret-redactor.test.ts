import { SecretRedactor } from "./secret-redactor";

describe("SecretRedactor", () => {
  it("removes known secret values wherever they appear", () => {
    const redactor = new SecretRedactor(["s3cr3t-value", "abc"]);
    expect(redactor.redact("token=s3cr3t-value; again s3cr3t-value; abc stays")).toBe(
      "token=[REDACTED]; again [REDACTED]; abc stays",
    );
  });

  it("removes well-known token shapes and credentials in URLs", () => {
    const redactor = new SecretRedactor();
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
});
