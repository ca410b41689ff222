import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { AppServices } from "./app";
import type { ApiConfig } from "./config";
import type { PrismaClient } from "./db/prisma";
import { AuthRevocations } from "./auth/auth-revocations";
import { StatsService } from "./stats/stats.service";
import { AuthService } from "./auth/auth.service";
import { IdentityCache } from "./auth/identity-cache";
import { Outbox } from "./events/outbox";
import { OutboxPublisher } from "./events/outbox-publisher";
import { HealthService } from "./health/health.service";
import { RepoUrlPolicy } from "./repos/repo-url";
import { RepoService } from "./repos/repo.service";
import { UserService } from "./users/user.service";
import { createTaskServices } from "./tasks/task-services";
import { LiveHints } from "./logs/live-hints";
import { LogService } from "./logs/log.service";
import { createDispatch, type Dispatch, type DispatchSettings } from "./dispatch/dispatch-services";
import { createSecrets } from "./secrets/secrets.wiring";
import { SetupStatusService } from "./setup/setup-status.service";

export type ServiceDeps = {
  config: Pick<
    ApiConfig,
    | "OPTIO_ALLOWED_REPO_HOSTS"
    | "OPTIO_DEFAULT_IMAGE"
    | "OPTIO_SESSION_TTL_HOURS"
    | "OPTIO_AUTH_CACHE_MS"
    | "OPTIO_LEASE_MS"
    | "OPTIO_REAP_INTERVAL_MS"
    | "OPTIO_RUNNER_STALE_MS"
    | "OPTIO_RUN_TIMEOUT_SECONDS"
    | "OPTIO_LOG_SECRETS"
    | "OPTIO_SECRET_KEY"
    | "OPTIO_SECRET_KEY_PREVIOUS"
    | "OPTIO_GITHUB_API_URL"
    | "OPTIO_ANTHROPIC_API_URL"
  >;
  prisma: PrismaClient;
  nats: NatsConnection;
  logger: Logger;
};

/** Wires every service once; main.ts and the tests share this composition. */
export function createServices(deps: ServiceDeps): {
  services: AppServices;
  publisher: OutboxPublisher;
  outbox: Outbox;
  dispatch: Dispatch;
} {
  const { config, prisma, nats, logger } = deps;
  const publisher = new OutboxPublisher({ prisma, nats, logger: logger.child({ component: "outbox" }) });
  const outbox = new Outbox({ prisma, onCommit: () => publisher.poke() });
  const urlPolicy = new RepoUrlPolicy({ allowedHosts: config.OPTIO_ALLOWED_REPO_HOSTS });
  const tasks = createTaskServices({
    prisma,
    outbox,
    urlPolicy,
    nats,
    logger: logger.child({ component: "tasks" }),
    runnerStaleMs: config.OPTIO_RUNNER_STALE_MS,
  });
  const settings: DispatchSettings = {
    leaseMs: config.OPTIO_LEASE_MS,
    reapIntervalMs: config.OPTIO_REAP_INTERVAL_MS,
    runnerStaleMs: config.OPTIO_RUNNER_STALE_MS,
    defaultImage: config.OPTIO_DEFAULT_IMAGE,
    defaultTimeoutSeconds: config.OPTIO_RUN_TIMEOUT_SECONDS,
  };
  const hints = new LiveHints({ nats });
  const identities = new IdentityCache({ ttlMs: config.OPTIO_AUTH_CACHE_MS });
  const revocations = new AuthRevocations({ nats, cache: identities, logger });
  revocations.listen();
  const secrets = createSecrets({ config, prisma, outbox });
  const dispatch = createDispatch({
    prisma,
    nats,
    logger,
    tasks,
    outbox,
    hints,
    settings,
    runSecrets: secrets.runSecrets,
    redaction: secrets.redaction,
  });
  const users = new UserService({ prisma, revocations });
  const services: AppServices = {
    auth: new AuthService({
      prisma,
      sessionTtlHours: config.OPTIO_SESSION_TTL_HOURS,
      cache: identities,
      revocations,
      logger,
    }),
    users,
    setup: new SetupStatusService({ users, secrets: secrets.store }),
    repos: new RepoService({ prisma, outbox, urlPolicy, defaultImage: config.OPTIO_DEFAULT_IMAGE }),
    health: new HealthService({ prisma, nats }),
    tasks,
    runners: dispatch.registry,
    logs: new LogService({ prisma }),
    hints,
    secrets: secrets.store,
    validator: secrets.validator,
    stats: new StatsService({ prisma }),
  };
  return { services, publisher, outbox, dispatch };
}
