// Server-Sent Events from the API through the `eventsource` package (Node 20 has no global
// EventSource): it reconnects by itself after a dropped connection and sends Last-Event-ID, so the
// server resumes exactly after the last event seen.
import { EventSource, type ErrorEvent } from "eventsource";
import { ApiError, CliError, ExitCode, UnreachableError } from "./exit-codes";
import type { OptioClient, Query } from "./http-client";

export type StreamHandlers = {
  /** One named SSE event (`event:`), its parsed data. */
  onEvent: (type: string, data: unknown) => void;
  /** Each (re)connection. */
  onOpen?: (reconnected: boolean) => void;
  /** The connection dropped; the library reconnects on its own. */
  onDrop?: (message: string) => void;
  /** The stream cannot go on (refused, unauthorised, never reached). */
  onFatal: (error: CliError) => void;
};

export type EventStream = { close: () => void; opened: Promise<void> };

export function openEventStream(
  client: OptioClient,
  path: string,
  query: Query,
  eventTypes: string[],
  handlers: StreamHandlers,
): EventStream {
  let everOpened = false;
  let resolveOpened: () => void = () => {};
  const opened = new Promise<void>((resolve) => (resolveOpened = resolve));
  const source = new EventSource(client.url(path, query), {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...client.authHeaders() },
      }),
  });
  source.addEventListener("open", () => {
    handlers.onOpen?.(everOpened);
    everOpened = true;
    resolveOpened();
  });
  for (const type of eventTypes) {
    source.addEventListener(type, (event) => {
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      handlers.onEvent(type, data);
    });
  }
  source.addEventListener("error", (event: ErrorEvent) => {
    if (source.readyState === source.CLOSED) {
      source.close();
      const status = event.code ?? 0;
      handlers.onFatal(
        status === 401 || status === 403
          ? new ApiError(
              status,
              status === 401 ? "AUTH_INVALID" : "FORBIDDEN",
              event.message ?? "unauthorised",
            )
          : status === 404
            ? new ApiError(404, "NOT_FOUND", "not found")
            : new CliError(ExitCode.failed, `event stream refused: ${event.message ?? status}`),
      );
    } else if (!everOpened) {
      // The first connection never came up: the server is down or the address is wrong.
      source.close();
      handlers.onFatal(new UnreachableError(client.server, event.message ?? "connection failed"));
    } else {
      handlers.onDrop?.(event.message ?? "connection lost");
    }
  });
  return { close: () => source.close(), opened };
}
