// TEST ONLY. The part the model API doubles share: an HTTP server on 127.0.0.1 that records every
// request (headers unredacted: tests check the key arrived), plays a script of turns, and writes
// SSE streams that can be cut mid-message.
import http, { type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { ScriptPlayer, type PlayOptions, type ReplyTurn, type Turn, type Usage } from "./script";

/** A tool's result as the CLI sent it back to the model. */
export interface ToolResult {
  /** Anthropic: tool_use_id; OpenAI: call_id. */
  callId: string | null;
  /** The result's text (text blocks / input_text items joined). */
  output: string;
  /** Anthropic's is_error; null where the API has no such field. */
  isError: boolean | null;
}

export interface RecordedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when the body is not JSON (empty string: no body). */
  body: unknown;
  model: string | null;
  stream: boolean;
  /** The last prompt text the user gave (the CLI's own context blocks left out). */
  prompt: string | null;
  /** The tool results this request carries back for the previous answer's calls. */
  toolResults: ToolResult[];
  /** Names of the tools the CLI offered the model. */
  tools: string[];
  /** When its first byte arrived (epoch ms): the benchmarks time a CLI's first request by it. */
  receivedAt: number;
  /** How the double answered: the turn's kind, or `status <n>` for a request outside the script. */
  answer: string;
}

export interface ModelDouble {
  /** The base URL to give the CLI (Anthropic: http://127.0.0.1:PORT; OpenAI: http://127.0.0.1:PORT/v1). */
  readonly url: string;
  readonly port: number;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** The requests that took a turn of the script (the model requests). */
  modelRequests(): RecordedRequest[];
  /** Every tool result the CLI sent back, in order. */
  toolResults(): ToolResult[];
  /** Replaces the script (and forgets nothing recorded: see `reset`). */
  play(script: readonly Turn[], options?: PlayOptions): void;
  /** Forgets the recorded requests. */
  reset(): void;
  /** Resolves once `n` requests (all kinds) have been recorded. */
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export interface Exchange {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A request's facts the API-specific part reads from the body. */
export type Extracted = Pick<RecordedRequest, "model" | "stream" | "prompt" | "toolResults" | "tools">;

export interface SseEvent {
  type: string;
  [field: string]: unknown;
}

/** How an API renders turns and answers requests; the shared server does the rest. */
export interface ApiBehaviour {
  /** The path suffix of `url` (OpenAI: "/v1"). */
  urlSuffix: string;
  /** Whether the request takes a turn of the script (a model request). */
  isModelRequest(exchange: Exchange): boolean;
  extract(exchange: Exchange): Extracted;
  /** A reply turn as SSE events (streaming requests). */
  streamEvents(turn: ReplyTurn, usage: Usage, exchange: Exchange): SseEvent[];
  /** A reply turn as one JSON body (stream: false). */
  jsonBody(turn: ReplyTurn, usage: Usage, exchange: Exchange): unknown;
  /** The body of a failure turn. */
  errorBody(turn: Extract<Turn, { kind: "fail" }>): unknown;
  /** Requests outside the script (count_tokens, unknown paths): status, body. */
  other(exchange: Exchange): { status: number; body: unknown };
}

function parseBody(raw: Buffer, headers: IncomingHttpHeaders): unknown {
  let buffer = raw;
  if (headers["content-encoding"] === "gzip") buffer = gunzipSync(raw);
  const text = buffer.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** SSE frames (`event:` + `data:`); with `cutAfter`, the socket is destroyed after that many. */
function writeSse(res: ServerResponse, events: SseEvent[], cutAfter?: number) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const frames = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  if (cutAfter === undefined) {
    res.end(frames.join(""));
    return;
  }
  // The first frames reach the client, then the connection dies without the stream's end.
  res.write(frames.slice(0, cutAfter).join(""), () => res.socket?.destroy());
}

export async function startHttpDouble(api: ApiBehaviour): Promise<ModelDouble> {
  const requests: RecordedRequest[] = [];
  const player = new ScriptPlayer();
  let waiters: Array<() => void> = [];
  const notify = () => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };

  const answer = (exchange: Exchange, res: ServerResponse): string => {
    if (!api.isModelRequest(exchange)) {
      const { status, body } = api.other(exchange);
      writeJson(res, status, body);
      return `status ${status}`;
    }
    const turn = player.next();
    const stream = (exchange.body as { stream?: unknown } | null)?.stream === true;
    switch (turn.kind) {
      case "fail": {
        const headers: Record<string, string> = {};
        if (turn.retryAfterS !== undefined) headers["retry-after"] = String(turn.retryAfterS);
        writeJson(res, turn.status, api.errorBody(turn), headers);
        return "fail";
      }
      case "cut":
        writeSse(res, api.streamEvents(turn.turn, player.usageOf(turn.turn), exchange), turn.afterEvents);
        return "cut";
      default:
        if (stream) writeSse(res, api.streamEvents(turn, player.usageOf(turn), exchange));
        else writeJson(res, 200, api.jsonBody(turn, player.usageOf(turn), exchange));
        return turn.kind;
    }
  };

  const server = http.createServer((req, res) => {
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const exchange: Exchange = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: parseBody(Buffer.concat(chunks), req.headers),
      };
      const extracted: Extracted = api.isModelRequest(exchange)
        ? api.extract(exchange)
        : { model: null, stream: false, prompt: null, toolResults: [], tools: [] };
      const recorded: RecordedRequest = { ...exchange, ...extracted, receivedAt, answer: "" };
      requests.push(recorded);
      recorded.answer = answer(exchange, res);
      notify();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}${api.urlSuffix}`,
    port,
    requests,
    modelRequests: () => requests.filter((r) => api.isModelRequest(r)),
    toolResults: () => requests.flatMap((r) => r.toolResults),
    play: (script, options) => player.play(script, options),
    reset: () => void requests.splice(0),
    waitForRequests(n, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${requests.length} of ${n} requests arrived in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = () => {
          if (requests.length >= n) {
            clearTimeout(timer);
            resolve(requests.slice(0, n));
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
