// GitHub's delivery signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`,
// compared in constant time. (@octokit/webhooks does the same, but its ESM-only dependency cannot be
// loaded by the API's CommonJS runtime.)
import { createHmac, timingSafeEqual } from "node:crypto";

export function verifySignature(secret: string, rawBody: string, header: string): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const expected = createHmac("sha256", secret).update(rawBody, "utf8").digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, "hex"));
}
