// A minimal EventSource for tests: collects `id`/`event`/`data` frames from a live response.
import http from "node:http";

export type SseEvent = { id: string; event: string; data: unknown };

export class SseClient {
  readonly events: SseEvent[] = [];
  private request: http.ClientRequest | undefined;
  status = 0;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    await new Promise<void>((resolve, reject) => {
      client.request = http.get(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
        client.status = res.statusCode ?? 0;
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            client.parse(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        });
        resolve();
      });
      client.request.on("error", reject);
    });
    return client;
  }

  private parse(frame: string) {
    const fields: Record<string, string> = {};
    for (const line of frame.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
    }
    if (fields.data !== undefined) {
      this.events.push({
        id: fields.id ?? "",
        event: fields.event ?? "message",
        data: JSON.parse(fields.data),
      });
    }
  }

  async waitForCount(count: number, timeoutMs = 8_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.events.length} of ${count} events arrived`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.events;
  }

  close(): void {
    this.request?.destroy();
  }
}
