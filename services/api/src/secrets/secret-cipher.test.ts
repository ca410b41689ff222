import { randomBytes } from "node:crypto";
import { loadConfig } from "../config";
import { generateSecretKey, SecretCipher, SecretDecryptError, SecretKey } from "./secret-cipher";

const key = () => randomBytes(32);
const value = `value-${randomBytes(8).toString("hex")}`;

describe("SecretKey", () => {
  it("accepts 32 bytes as hex or base64, and rejects anything else without repeating it", () => {
    const raw = randomBytes(32);
    expect(SecretKey.parse(raw.toString("hex")).equals(raw)).toBe(true);
    expect(SecretKey.parse(raw.toString("base64")).equals(raw)).toBe(true);
    expect(SecretKey.parse(generateSecretKey())).toHaveLength(32);
    for (const bad of [
      "",
      "short",
      randomBytes(16).toString("hex"),
      randomBytes(33).toString("base64"),
      "!".repeat(44),
    ]) {
      const result = SecretKey.safeParse(bad);
      expect(result.success).toBe(false);
      expect(JSON.stringify(result.error?.issues)).not.toContain(bad || "\u0000");
    }
  });
});

describe("SecretCipher", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the ciphertext", () => {
    const cipher = new SecretCipher({ key: key() });
    const a = cipher.encrypt(value, "NAME/global");
    const b = cipher.encrypt(value, "NAME/global");
    expect(a).not.toBe(b);
    expect(a).not.toContain(value);
    expect(a).not.toContain(Buffer.from(value).toString("base64"));
    expect(cipher.decrypt(a, "NAME/global")).toEqual({ value, stale: false });
  });

  it("refuses a ciphertext under another name, a tampered one, and an unknown key", () => {
    const cipher = new SecretCipher({ key: key() });
    const stored = cipher.encrypt(value, "NAME/global");
    expect(() => cipher.decrypt(stored, "OTHER/global")).toThrow(SecretDecryptError);
    const parts = stored.split(":");
    parts[4] = Buffer.from("x" + value).toString("base64");
    expect(() => cipher.decrypt(parts.join(":"), "NAME/global")).toThrow(SecretDecryptError);
    expect(() => new SecretCipher({ key: key() }).decrypt(stored, "NAME/global")).toThrow(/unknown key/);
    expect(() => cipher.decrypt("garbage", "NAME/global")).toThrow(SecretDecryptError);
  });

  it("reads values of the previous key after a rotation and marks them stale", () => {
    const oldKey = key();
    const stored = new SecretCipher({ key: oldKey }).encrypt(value, "N/global");
    const rotated = new SecretCipher({ key: key(), previousKey: oldKey });
    expect(rotated.decrypt(stored, "N/global")).toEqual({ value, stale: true });
    const rewritten = rotated.encrypt(value, "N/global");
    expect(rotated.decrypt(rewritten, "N/global")).toEqual({ value, stale: false });
  });
});

describe("boot configuration", () => {
  const base = { DATABASE_URL: "postgresql://u@127.0.0.1/db" };

  it("refuses to start without a valid key, naming the variable but not its value", () => {
    expect(() => loadConfig(base)).toThrow(/OPTIO_SECRET_KEY/);
    const bad = "not-a-valid-key-value";
    let message = "";
    try {
      loadConfig({ ...base, OPTIO_SECRET_KEY: generateSecretKey(), OPTIO_SECRET_KEY_PREVIOUS: bad });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/OPTIO_SECRET_KEY_PREVIOUS: must be 32 bytes/);
    expect(message).not.toContain(bad);
  });

  it("parses both keys, an empty previous key meaning none", () => {
    const config = loadConfig({
      ...base,
      OPTIO_SECRET_KEY: generateSecretKey(),
      OPTIO_SECRET_KEY_PREVIOUS: "",
    });
    expect(config.OPTIO_SECRET_KEY).toHaveLength(32);
    expect(config.OPTIO_SECRET_KEY_PREVIOUS).toBeUndefined();
  });
});
