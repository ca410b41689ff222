// Revocation across API replicas: logout, a deleted token, a deactivated or changed user. The
// replica that made the change evicts its own cache before answering, then broadcasts the user id
// on core NATS; every replica (this one too) evicts that user's cached identities on receipt. A
// lost broadcast (NATS down) is bounded by the cache's TTL.
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { AuthRevoked, subjects } from "@optio/contracts";
import type { IdentityCache } from "./identity-cache";

export class AuthRevocations {
  private readonly nats: NatsConnection;
  private readonly cache: IdentityCache;
  private readonly logger: Logger;
  private subscription: Subscription | undefined;

  constructor(options: { nats: NatsConnection; cache: IdentityCache; logger: Logger }) {
    this.nats = options.nats;
    this.cache = options.cache;
    this.logger = options.logger;
  }

  /** Starts evicting on other replicas' broadcasts. */
  listen(): void {
    this.subscription = this.nats.subscribe(subjects.authRevoked(), {
      callback: (err, message) => {
        if (err) return;
        let parsed;
        try {
          parsed = AuthRevoked.safeParse(message.json());
        } catch {
          return; // not JSON: not ours
        }
        if (parsed.success) this.cache.evictUser(parsed.data.userId);
      },
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
  }

  /** Evicts here, then tells the other replicas. Call after the change has committed. */
  revokeUser(userId: string): void {
    this.cache.evictUser(userId);
    try {
      this.nats.publish(subjects.authRevoked(), JSON.stringify({ userId } satisfies AuthRevoked));
    } catch (err) {
      this.logger.warn({ err }, "revocation broadcast not sent; other replicas forget within the cache TTL");
    }
  }
}
