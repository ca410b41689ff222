import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { runnerInboxPrefix } from "@optio/contracts";
import type { NatsCredentials } from "@optio/core";

/**
 * Connects as the runner's identity and keeps reconnecting forever: a NATS restart must not take a
 * runner (or its runs) down. Replies (claims carry secrets) arrive under the runner's own inbox
 * prefix, the only one its identity may subscribe to. No async traces: they cost two Error objects
 * (with stacks) per request and publish.
 */
export function connectNats(options: {
  url: string;
  name: string;
  runnerId: string;
  credentials?: NatsCredentials;
}): Promise<NatsConnection> {
  return connect({
    servers: options.url,
    name: options.name,
    ...options.credentials,
    inboxPrefix: runnerInboxPrefix(options.runnerId),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  });
}
