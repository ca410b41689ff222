// A webhook receiver on 127.0.0.1 for the notification tests: records every request, answers as the
// test says (200, 500, or refusing connections altogether), and checks each signature the way the
// README tells receivers to (HMAC-SHA256 of "<timestamp>.<body>", compared in constant time).
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type ReceivedDelivery = {
  headers: Record<string, string>;
  body: string;
  json: { id: string; type: string; data: { taskId: string; [key: string]: unknown } };
  answered: number;
};

export type ReceiverMode = "ok" | "error" | "down";

/** The receiver-side check documented in the README. */
export function verifySignature(secret: string, headers: Record<string, string>, body: string): boolean {
  const timestamp = headers["x-optio-timestamp"] ?? "";
  const header = headers["x-optio-signature"] ?? "";
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  const given = header.replace(/^sha256=/, "");
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  private server: Server | undefined;
  private port = 0;
  private mode: ReceiverMode = "ok";

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Deliveries answered 2xx. */
  get accepted(): ReceivedDelivery[] {
    return this.received.filter((delivery) => delivery.answered < 300);
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const answered = this.mode === "ok" ? 200 : 500;
        this.received.push({
          headers: request.headers as Record<string, string>,
          body,
          json: JSON.parse(body) as ReceivedDelivery["json"],
          answered,
        });
        response
          .writeHead(answered, { "content-type": "text/plain" })
          .end(answered === 200 ? "thanks" : "boom");
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** "down" closes the listener (connection refused); back up listens again on the same port. */
  async setMode(mode: ReceiverMode): Promise<void> {
    if (mode === "down" && this.server) await this.close();
    if (mode !== "down" && !this.server) await this.start();
    this.mode = mode;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
