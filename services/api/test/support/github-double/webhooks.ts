// TEST ONLY. Signed webhook deliveries as GitHub sends them: JSON body, `X-GitHub-Event`,
// `X-GitHub-Delivery` (a fresh uuid per delivery, kept on redelivery), `X-Hub-Signature-256`
// (`sha256=` + HMAC-SHA256 of the raw body with the hook's secret).
import { createHmac, randomUUID } from "node:crypto";

export type Hook = { url: string; secret: string; events: string[] | "*" };

export type Delivery = {
  id: string;
  event: string;
  url: string;
  secret: string;
  body: string;
};

export type DeliveryResult = { id: string; event: string; status: number; body: string };

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function newDelivery(
  hook: Pick<Hook, "url" | "secret">,
  event: string,
  payload: unknown,
  id?: string,
): Delivery {
  return { id: id ?? randomUUID(), event, url: hook.url, secret: hook.secret, body: JSON.stringify(payload) };
}

/** POSTs one delivery; `overrides` lets a test send a wrong or missing signature. */
export async function send(
  delivery: Delivery,
  overrides: { signature?: string | null; headers?: Record<string, string> } = {},
): Promise<DeliveryResult> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/double",
    "x-github-event": delivery.event,
    "x-github-delivery": delivery.id,
    "x-github-hook-id": "1",
    ...overrides.headers,
  };
  const sig =
    overrides.signature === undefined ? signature(delivery.secret, delivery.body) : overrides.signature;
  if (sig !== null) headers["x-hub-signature-256"] = sig;
  const response = await fetch(delivery.url, { method: "POST", headers, body: delivery.body });
  return { id: delivery.id, event: delivery.event, status: response.status, body: await response.text() };
}

/**
 * Queues the deliveries the double's state changes produce. In `auto` mode they are sent at once
 * (in order, one at a time); in `manual` mode they wait for `flush`, which can reverse or
 * duplicate them to test out-of-order and repeated deliveries.
 */
export class WebhookQueue {
  mode: "auto" | "manual" = "auto";
  readonly sent: DeliveryResult[] = [];
  readonly failures: Array<{ id: string; error: string }> = [];
  private pending: Delivery[] = [];
  private readonly all = new Map<string, Delivery>();
  private chain: Promise<void> = Promise.resolve();

  enqueue(delivery: Delivery): void {
    this.all.set(delivery.id, delivery);
    if (this.mode === "manual") this.pending.push(delivery);
    else this.dispatch([delivery]);
  }

  /** Deliveries waiting in manual mode. */
  held(): Delivery[] {
    return [...this.pending];
  }

  flush(options: { reverse?: boolean; duplicate?: boolean } = {}): Promise<void> {
    let batch = this.pending;
    this.pending = [];
    if (options.reverse) batch = [...batch].reverse();
    if (options.duplicate) batch = batch.flatMap((delivery) => [delivery, delivery]);
    this.dispatch(batch);
    return this.idle();
  }

  /** Sends a recorded delivery again with the same id (GitHub's "Redeliver"). */
  redeliver(id: string): Promise<void> {
    const delivery = this.all.get(id);
    if (!delivery) throw new Error(`no delivery ${id}`);
    this.dispatch([delivery]);
    return this.idle();
  }

  /** Resolves when every queued delivery has been sent. */
  idle(): Promise<void> {
    return this.chain;
  }

  private dispatch(batch: Delivery[]): void {
    for (const delivery of batch) {
      this.chain = this.chain.then(async () => {
        try {
          this.sent.push(await send(delivery));
        } catch (error) {
          this.failures.push({ id: delivery.id, error: String(error) });
        }
      });
    }
  }
}
