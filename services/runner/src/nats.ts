import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";

/**
 * Connects and keeps reconnecting forever: a NATS restart must not take a runner (or its runs) down.
 * No async traces: they cost two Error objects (with stacks) per request and publish.
 */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  });
}
