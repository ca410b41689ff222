import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { AppServices } from "./app";
import type { ApiConfig } from "./config";
import type { PrismaClient } from "./db/prisma";
import { AuthRevocations } from "./auth/auth-revocations";
import { StatsService } from "./stats/stats.service";
import { DailyBudget } from "./budgets/daily-budget";
import { NatsRunSignals } from "./tasks/run-signals";
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
import { GitPlatforms } from "./platform/platform-registry";
import { PlatformHosts } from "./platform/platform-hosts";
import { PlatformGitCredentials } from "./platform/platform-git-credentials";
import { AppInstallationTokens } from "./platform/github/app-installation-tokens";
import type { BackoffSettings } from "./platform/github/octokit-client";
import type { SecretReader } from "./secrets/secret-reader";
import { IssueService } from "./issues/issue.service";
import { IssueImporter } from "./issues/issue-import.service";
import { IssueEffects } from "./side-effects/issue-effects";
import { PrOpener } from "./side-effects/pr-opener";
import { SideEffectStore } from "./side-effects/side-effect.store";
import {
  DEFAULT_SIDE_EFFECT_SETTINGS,
  SideEffectWorker,
  type SideEffectSettings,
} from "./side-effects/side-effect.worker";
import { createDispatch, type Dispatch, type DispatchSettings } from "./dispatch/dispatch-services";
import { createSecrets } from "./secrets/secrets.wiring";
import { SetupStatusService } from "./setup/setup-status.service";
import { createPrLoop, type PrLoop } from "./prloop/pr-loop.wiring";
import { PlatformPrAdapter } from "./prloop/platform-pr.adapter";
import type { PrPlatform } from "./prloop/pr-platform";
import {
  createNotifications,
  DEFAULT_NOTIFICATION_OPTIONS,
  type NotificationOptions,
  type Notifications,
} from "./notifications/notifications.wiring";

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
    | "OPTIO_GITHUB_URL"
    | "OPTIO_GITHUB_API_URL"
    | "OPTIO_ANTHROPIC_API_URL"
    | "GITHUB_WEBHOOK_SECRET"
    | "OPTIO_PR_SWEEP_MS"
    | "OPTIO_WEBHOOK_TIMEOUT_MS"
    | "OPTIO_WEBHOOK_RETRY_BASE_MS"
    | "OPTIO_WEBHOOK_RETRY_MAX_MS"
    | "OPTIO_WEBHOOK_MAX_AGE_MS"
    | "OPTIO_PR_POLL_MS"
    | "OPTIO_ISSUE_SYNC_MS"
    | "OPTIO_DAILY_BUDGET_USD"
  >;
  prisma: PrismaClient;
  nats: NatsConnection;
  logger: Logger;
  /** Where platform clients read their token (default: the secret store). */
  secrets?: SecretReader;
  /** Rate-limit back-off of platform clients (tests shrink it). */
  platformBackoff?: Partial<BackoffSettings>;
  /** Side-effect worker timings (tests shrink them). */
  sideEffects?: Partial<SideEffectSettings>;
  /** The git platform the PR loop talks to (default: the platform clients of the repos). */
  platform?: PrPlatform;
  /** Outbound notifications: consumer name, worker interval, outcome observer. */
  notifications?: Partial<NotificationOptions>;
  /** The daily budget's clock (tests move it to another UTC day). */
  clock?: () => Date;
};

/** Wires every service once; main.ts and the tests share this composition. */
export function createServices(deps: ServiceDeps): {
  services: AppServices;
  publisher: OutboxPublisher;
  outbox: Outbox;
  dispatch: Dispatch;
  platforms: GitPlatforms;
  /** Performs platform side effects (PRs, issue comments); main.ts starts it. */
  sideEffects: SideEffectWorker;
  prLoop: PrLoop;
  /** Outbound webhooks (event consumer + delivery worker); main.ts starts them. */
  notifications: Notifications;
  /** Imports labelled issues (webhook and periodic sync); main.ts starts its sync. */
  issueImporter: IssueImporter;
} {
  const { config, prisma, nats, logger } = deps;
  const publisher = new OutboxPublisher({ prisma, nats, logger: logger.child({ component: "outbox" }) });
  const outbox = new Outbox({ prisma, onCommit: () => publisher.poke() });
  const hosts = new PlatformHosts({
    githubUrl: config.OPTIO_GITHUB_URL,
    githubApiUrl: config.OPTIO_GITHUB_API_URL,
  });
  const platformLogger = logger.child({ component: "platform" });
  const appTokens = new AppInstallationTokens({ logger: platformLogger, backoff: deps.platformBackoff });
  const secrets = createSecrets({
    config,
    prisma,
    outbox,
    githubApiUrl: hosts.githubApiUrl,
    gitCredentials: new PlatformGitCredentials({ hosts, appTokens, logger }),
  });
  const platforms = new GitPlatforms({
    hosts,
    secrets: deps.secrets ?? secrets.store,
    logger: platformLogger,
    backoff: deps.platformBackoff,
    appTokens,
  });
  const urlPolicy = new RepoUrlPolicy({ allowedHosts: config.OPTIO_ALLOWED_REPO_HOSTS });
  const signals = new NatsRunSignals({ nats, logger: logger.child({ component: "tasks" }) });
  const budget = new DailyBudget({
    prisma,
    envCapUsd: config.OPTIO_DAILY_BUDGET_USD ?? null,
    signals,
    clock: deps.clock,
  });
  const tasks = createTaskServices({
    prisma,
    outbox,
    urlPolicy,
    nats,
    logger: logger.child({ component: "tasks" }),
    signals,
    budget,
    runnerStaleMs: config.OPTIO_RUNNER_STALE_MS,
  });
  const settings: DispatchSettings = {
    leaseMs: config.OPTIO_LEASE_MS,
    reapIntervalMs: config.OPTIO_REAP_INTERVAL_MS,
    runnerStaleMs: config.OPTIO_RUNNER_STALE_MS,
    defaultImage: config.OPTIO_DEFAULT_IMAGE,
    defaultTimeoutSeconds: config.OPTIO_RUN_TIMEOUT_SECONDS,
  };
  const effects = new SideEffectStore(prisma);
  const sideEffects = new SideEffectWorker({
    store: effects,
    work: tasks.work,
    logger: logger.child({ component: "side-effects" }),
    settings: { ...DEFAULT_SIDE_EFFECT_SETTINGS, ...deps.sideEffects },
    handlers: [
      new PrOpener({ prisma, platforms, machine: tasks.machine, work: tasks.work }),
      new IssueEffects({ prisma, platforms }),
    ],
  });
  const pokeEffects = () => sideEffects.poke();
  const hints = new LiveHints({ nats });
  const identities = new IdentityCache({ ttlMs: config.OPTIO_AUTH_CACHE_MS });
  const revocations = new AuthRevocations({ nats, cache: identities, logger });
  revocations.listen();
  const issues = new IssueService({
    prisma,
    platforms,
    tasks: tasks.tasks,
    effects,
    pokeEffects,
    logger: logger.child({ component: "issues" }),
  });
  const issueImporter = new IssueImporter({
    prisma,
    platforms,
    issues,
    logger: logger.child({ component: "issue-import" }),
    syncMs: config.OPTIO_ISSUE_SYNC_MS,
  });
  const prLoop = createPrLoop({
    prisma,
    tasks,
    platform: deps.platform ?? new PlatformPrAdapter(platforms),
    effects,
    secrets: deps.secrets ?? secrets.store,
    webhookSecret: config.GITHUB_WEBHOOK_SECRET,
    onIssueLabeled: (subject) => issueImporter.onLabeled(subject),
    logger: logger.child({ component: "pr-loop" }),
    sweepMs: config.OPTIO_PR_SWEEP_MS,
    pollMs: config.OPTIO_PR_POLL_MS,
  });
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
    pullRequests: { hosts: platforms, effects, poke: pokeEffects },
    onReview: prLoop.onReview,
    budget,
  });
  const notifications = createNotifications({
    config,
    prisma,
    nats,
    cipher: secrets.cipher,
    urlPolicy,
    logger: logger.child({ component: "notifications" }),
    options: { ...DEFAULT_NOTIFICATION_OPTIONS, ...deps.notifications },
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
    repos: new RepoService({
      prisma,
      outbox,
      urlPolicy,
      platforms,
      defaultImage: config.OPTIO_DEFAULT_IMAGE,
    }),
    health: new HealthService({ prisma, nats }),
    tasks,
    runners: dispatch.registry,
    logs: new LogService({ prisma }),
    hints,
    secrets: secrets.store,
    validator: secrets.validator,
    stats: new StatsService({ prisma, budget, clock: deps.clock }),
    budget,
    issues,
    webhooks: prLoop.webhooks,
    notifications: notifications.subscriptions,
  };
  return {
    services,
    publisher,
    outbox,
    dispatch,
    platforms,
    sideEffects,
    prLoop,
    notifications,
    issueImporter,
  };
}
