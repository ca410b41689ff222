import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { AppServices } from "./app";
import type { ApiConfig } from "./config";
import type { PrismaClient } from "./db/prisma";
import { AuthService } from "./auth/auth.service";
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
import { createPrLoop, NO_PLATFORM, type PrLoop } from "./prloop/pr-loop.wiring";
import type { PrPlatform } from "./prloop/pr-platform";
import type { SecretReader } from "./secrets/secret-reader";

export type ServiceDeps = {
  config: Pick<
    ApiConfig,
    | "OPTIO_ALLOWED_REPO_HOSTS"
    | "OPTIO_DEFAULT_IMAGE"
    | "OPTIO_SESSION_TTL_HOURS"
    | "OPTIO_LEASE_MS"
    | "OPTIO_REAP_INTERVAL_MS"
    | "OPTIO_RUNNER_STALE_MS"
    | "OPTIO_RUN_TIMEOUT_SECONDS"
    | "OPTIO_LOG_SECRETS"
    | "GITHUB_WEBHOOK_SECRET"
    | "OPTIO_PR_SWEEP_MS"
  >;
  prisma: PrismaClient;
  nats: NatsConnection;
  logger: Logger;
  /** The git platform the PR loop talks to (tests pass a client pointed at the GitHub double). */
  platform?: PrPlatform;
  secrets?: SecretReader | null;
};

/** Wires every service once; main.ts and the tests share this composition. */
export function createServices(deps: ServiceDeps): {
  services: AppServices;
  publisher: OutboxPublisher;
  outbox: Outbox;
  dispatch: Dispatch;
  prLoop: PrLoop;
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
  });
  const settings: DispatchSettings = {
    leaseMs: config.OPTIO_LEASE_MS,
    reapIntervalMs: config.OPTIO_REAP_INTERVAL_MS,
    runnerStaleMs: config.OPTIO_RUNNER_STALE_MS,
    defaultImage: config.OPTIO_DEFAULT_IMAGE,
    defaultTimeoutSeconds: config.OPTIO_RUN_TIMEOUT_SECONDS,
    secretValues: config.OPTIO_LOG_SECRETS,
  };
  const hints = new LiveHints({ nats });
  const prLoop = createPrLoop({
    prisma,
    tasks,
    platform: deps.platform ?? NO_PLATFORM,
    secrets: deps.secrets,
    webhookSecret: config.GITHUB_WEBHOOK_SECRET,
    logger: logger.child({ component: "pr-loop" }),
    sweepMs: config.OPTIO_PR_SWEEP_MS,
  });
  const dispatch = createDispatch({
    prisma,
    nats,
    logger,
    tasks,
    hints,
    settings,
    onReview: prLoop.onReview,
  });
  const services: AppServices = {
    auth: new AuthService({ prisma, sessionTtlHours: config.OPTIO_SESSION_TTL_HOURS }),
    users: new UserService({ prisma }),
    repos: new RepoService({ prisma, outbox, urlPolicy, defaultImage: config.OPTIO_DEFAULT_IMAGE }),
    health: new HealthService({ prisma, nats }),
    tasks,
    runners: dispatch.registry,
    logs: new LogService({ prisma }),
    hints,
    webhooks: prLoop.webhooks,
  };
  return { services, publisher, outbox, dispatch, prLoop };
}
