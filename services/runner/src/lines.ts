import type { Readable } from "node:stream";

/** Longest line kept; the rest of a longer line is cut (a runaway line must not exhaust memory). */
export const MAX_LINE = 64 * 1024;

/** Calls onLine for every line of the stream (UTF-8, \n or \r\n), resolving when it ends. */
export function forEachLine(stream: Readable, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = "";
    let dropping = false;
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      let start = 0;
      for (let i = chunk.indexOf("\n"); i !== -1; i = chunk.indexOf("\n", start)) {
        const piece = pending + chunk.slice(start, i);
        if (!dropping) onLine(piece.endsWith("\r") ? piece.slice(0, -1) : piece);
        pending = "";
        dropping = false;
        start = i + 1;
      }
      if (!dropping) {
        pending += chunk.slice(start);
        if (pending.length > MAX_LINE) {
          onLine(`${pending.slice(0, MAX_LINE)}… [line cut]`);
          pending = "";
          dropping = true;
        }
      }
    });
    stream.once("end", () => {
      if (pending && !dropping) onLine(pending);
      resolve();
    });
    stream.once("error", reject);
  });
}
