import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * A Server-Sent Events response: takes over the raw socket, keeps it alive with comments, and
 * reports when the client has gone.
 */
export class SseStream {
  private readonly reply: FastifyReply;
  private readonly keepAlive: NodeJS.Timeout;
  private closedFlag = false;
  readonly closed: Promise<void>;

  constructor(request: FastifyRequest, reply: FastifyReply, keepAliveMs = 15_000) {
    this.reply = reply;
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    reply.raw.write(": connected\n\n");
    this.keepAlive = setInterval(() => reply.raw.write(": ping\n\n"), keepAliveMs);
    this.closed = new Promise((resolve) => {
      request.raw.once("close", () => {
        this.closedFlag = true;
        clearInterval(this.keepAlive);
        resolve();
      });
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  send(id: string, event: string, data: unknown): void {
    if (this.closedFlag) return;
    this.reply.raw.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    clearInterval(this.keepAlive);
    if (!this.closedFlag) this.reply.raw.end();
  }
}

/** The resume point of a reconnecting EventSource: the Last-Event-ID header, else `?after=`. */
export function resumeFrom(request: FastifyRequest, after: string | number | undefined): string | undefined {
  const header = request.headers["last-event-id"];
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^\d{1,19}$/.test(value) ? value : after === undefined ? undefined : String(after);
}
