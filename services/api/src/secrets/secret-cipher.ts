// Encryption of stored secrets: AES-256-GCM with a random 96-bit IV per value. Each ciphertext names
// the key that made it (the first bytes of the key's SHA-256), so after a key rotation values are read
// with the previous key and re-encrypted with the current one. The row's name and scope are bound as
// additional data: a ciphertext copied onto another secret's row does not decrypt.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { z } from "zod";

const FORMAT = "v1";
const KEY_BYTES = 32;

/** A 32-byte key from 64 hex characters or base64; the error never repeats the value. */
export const SecretKey = z
  .string()
  .trim()
  .transform((text, ctx) => {
    const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
    if (key.length !== KEY_BYTES || (!/^[0-9a-fA-F]{64}$/.test(text) && !/^[A-Za-z0-9+/]+=*$/.test(text))) {
      ctx.addIssue({ code: "custom", message: "must be 32 bytes as 64 hex characters or base64" });
      return z.NEVER;
    }
    return key;
  });

/** Generates a key in the form OPTIO_SECRET_KEY expects. */
export const generateSecretKey = (): string => randomBytes(KEY_BYTES).toString("base64");

export class SecretDecryptError extends Error {}

export type Decrypted = { value: string; /** Made with an older key: write it again. */ stale: boolean };

const keyId = (key: Buffer) => createHash("sha256").update(key).digest("hex").slice(0, 8);

export class SecretCipher {
  private readonly current: { id: string; key: Buffer };
  private readonly keys: Map<string, Buffer>;

  constructor(options: { key: Buffer; previousKey?: Buffer }) {
    this.current = { id: keyId(options.key), key: options.key };
    this.keys = new Map([[this.current.id, options.key]]);
    if (options.previousKey) this.keys.set(keyId(options.previousKey), options.previousKey);
  }

  /** `context` (name and scope) must be the same to decrypt. */
  encrypt(value: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT, this.current.id, iv, tag, data]
      .map((part) => (Buffer.isBuffer(part) ? part.toString("base64") : part))
      .join(":");
  }

  decrypt(stored: string, context: string): Decrypted {
    const [format, id, iv, tag, data] = stored.split(":");
    const key = id === undefined ? undefined : this.keys.get(id);
    if (format !== FORMAT || !key || !iv || !tag || data === undefined)
      throw new SecretDecryptError(
        key ? "unreadable secret" : "secret encrypted with an unknown key (OPTIO_SECRET_KEY changed?)",
      );
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      const value = Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]);
      return { value: value.toString("utf8"), stale: id !== this.current.id };
    } catch {
      throw new SecretDecryptError("secret failed authentication (tampered, or stored under another name)");
    }
  }
}
