// Signing of outbound deliveries: `X-Optio-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
// with the subscription's secret. The timestamp (unix seconds, also in `X-Optio-Timestamp`) is part
// of what is signed, so a receiver that rejects old timestamps cannot be fed a replayed delivery.
import { createHmac, randomBytes } from "node:crypto";

/** A new signing secret, shown to the subscriber once. */
export const generateWebhookSecret = (): string => `whsec_${randomBytes(32).toString("base64url")}`;

export function signDelivery(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")}`;
}

/** The context a subscription's secret is encrypted under (binds the ciphertext to its row). */
export const secretContext = (subscriptionId: string) => `webhook:${subscriptionId}`;
