import { StoredSecretsRedactor } from "./stored-secrets-redactor";

describe("StoredSecretsRedactor", () => {
  it("knows the stored values and the extra ones, and reloads after invalidate()", async () => {
    let stored = ["first-stored-value"];
    let loads = 0;
    const redactors = new StoredSecretsRedactor({
      secrets: { values: async () => (loads++, stored) },
      extraValues: ["extra-configured"],
    });
    const text = "first-stored-value second-stored-value extra-configured";
    expect((await redactors.get()).redact(text)).toBe("[REDACTED] second-stored-value [REDACTED]");
    await redactors.get();
    expect(loads).toBe(1);

    stored = ["second-stored-value"];
    redactors.invalidate();
    expect((await redactors.get()).redact(text)).toBe("first-stored-value [REDACTED] [REDACTED]");
    expect(loads).toBe(2);
  });

  it("does not hand out a load that started before a change", async () => {
    let release: (values: string[]) => void = () => {};
    const redactors = new StoredSecretsRedactor({
      secrets: { values: () => new Promise<string[]>((resolve) => (release = resolve)) },
    });
    const early = redactors.get();
    const firstRelease = release;
    redactors.invalidate();
    const late = redactors.get();
    firstRelease(["old-value-123"]);
    release(["new-value-456"]);
    expect((await early).redact("new-value-456")).toBe("new-value-456");
    expect((await late).redact("new-value-456")).toBe("[REDACTED]");
  });

  it("hands a failed load to its callers only, and loads again on the next call", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      let reachable = false;
      const redactors = new StoredSecretsRedactor({
        secrets: {
          values: async () => {
            if (!reachable) throw new Error("timeout exceeded when trying to connect");
            return ["stored-value-789"];
          },
        },
      });
      await expect(redactors.get()).rejects.toThrow("timeout exceeded");
      await new Promise((resolve) => setTimeout(resolve, 10)); // unhandled rejections are reported by now
      expect(unhandled).toEqual([]);
      reachable = true;
      expect((await redactors.get()).redact("stored-value-789")).toBe("[REDACTED]");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
