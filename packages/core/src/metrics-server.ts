// GET /metrics on its own port, apart from a service's public listener, so scrapes never pass it:
// the API's and the runners' Prometheus endpoint. Typed by shape (a prom-client Registry, a pino
// Logger fit), so this package needs neither.
import http from "node:http";

export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export async function startMetricsServer(options: {
  registry: MetricsSource;
  port: number;
  host: string;
  logger: { error(details: object, message: string): void };
}): Promise<http.Server> {
  const { registry, logger } = options;
  const server = http.createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => {
        logger.error({ err }, "metrics collection failed");
        response.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  return server;
}
