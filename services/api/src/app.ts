import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import cookie from "@fastify/cookie";
import rateLimit from "@fastify/rate-limit";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { Logger } from "pino";
import { AppError } from "./errors";
import { registerErrorHandling } from "./http/error-handler";
import { registerJsonBodyParser } from "./http/json-body";
import { registerOpenApi } from "./http/openapi";
import { registerAsyncApi } from "./http/asyncapi";
import { registerAuthentication } from "./auth/auth.plugin";
import type { AuthService } from "./auth/auth.service";
import { authRoutes } from "./auth/auth.routes";
import { setupRoutes } from "./auth/setup.routes";
import type { HealthService } from "./health/health.service";
import { healthRoutes } from "./health/health.routes";
import type { RepoService } from "./repos/repo.service";
import { reposRoutes } from "./repos/repos.routes";
import type { UserService } from "./users/user.service";
import { usersRoutes } from "./users/users.routes";
import type { TaskServices } from "./tasks/task-services";
import { tasksRoutes } from "./tasks/tasks.routes";
import type { RunnerRegistry } from "./dispatch/runner-registry";
import { runnersRoutes } from "./dispatch/runners.routes";
import type { LiveHints } from "./logs/live-hints";
import type { LogService } from "./logs/log.service";
import { logsRoutes } from "./logs/logs.routes";
import type { NatsConnection } from "@nats-io/nats-core";
import type { SecretStore } from "./secrets/secret.store";
import { secretsRoutes } from "./secrets/secrets.routes";
import type { CredentialValidator } from "./setup/credential-validator";
import type { SetupStatusService } from "./setup/setup-status.service";
import type { StatsService } from "./stats/stats.service";
import { statsRoutes } from "./stats/stats.routes";
import type { DailyBudget } from "./budgets/daily-budget";
import { budgetRoutes } from "./budgets/budget.routes";
import type { ApiMetrics } from "./metrics/api-metrics";
import type { IssueService } from "./issues/issue.service";
import { issuesRoutes } from "./issues/issues.routes";
import type { WebhookService } from "./prloop/webhook.service";
import { webhooksRoutes } from "./prloop/webhooks.routes";
import type { SubscriptionService } from "./notifications/subscription.service";
import { notificationsRoutes } from "./notifications/notifications.routes";

export type AppServices = {
  auth: AuthService;
  users: UserService;
  repos: RepoService;
  health: HealthService;
  tasks: TaskServices;
  runners: RunnerRegistry;
  logs: LogService;
  hints: LiveHints;
  secrets: SecretStore;
  setup: SetupStatusService;
  validator: CredentialValidator;
  stats: StatsService;
  budget: DailyBudget;
  issues: IssueService;
  webhooks: WebhookService;
  notifications: SubscriptionService;
};

export type AppOptions = {
  logger: Logger;
  /** Live streams read the events stream directly. */
  nats: NatsConnection;
  services: AppServices;
  version: string;
  authRateLimit: number;
  trustProxy?: boolean;
  /** Observes every request's duration by route template and status. */
  metrics?: ApiMetrics;
};

/** Builds the whole HTTP app without listening, so tests can inject requests. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { services } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerJsonBodyParser(app);
  const { metrics } = options;
  if (metrics) {
    app.addHook("onResponse", async (request, reply) => {
      metrics.observeHttp(
        request.method,
        request.routeOptions.url ?? "unmatched",
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
    });
  }

  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new AppError(429, "RATE_LIMITED", `Too many requests; retry in ${context.after}`),
  });
  await registerOpenApi(app, options.version);
  registerAsyncApi(app, options.version);
  registerAuthentication(app, services.auth);

  await app.register(
    async (api) => {
      await api.register(healthRoutes, { health: services.health, version: options.version });
      await api.register(setupRoutes, {
        users: services.users,
        auth: services.auth,
        setup: services.setup,
        validator: services.validator,
        authRateLimit: options.authRateLimit,
      });
      await api.register(authRoutes, { auth: services.auth, authRateLimit: options.authRateLimit });
      await api.register(usersRoutes, { users: services.users });
      await api.register(reposRoutes, { repos: services.repos });
      await api.register(tasksRoutes, { services: services.tasks });
      await api.register(runnersRoutes, { registry: services.runners });
      await api.register(secretsRoutes, { secrets: services.secrets });
      await api.register(statsRoutes, { stats: services.stats });
      await api.register(budgetRoutes, { budget: services.budget });
      await api.register(issuesRoutes, { issues: services.issues, budget: services.budget });
      await api.register(logsRoutes, { logs: services.logs, hints: services.hints, nats: options.nats });
      await api.register(webhooksRoutes, { webhooks: services.webhooks });
      await api.register(notificationsRoutes, { subscriptions: services.notifications });
    },
    { prefix: "/api" },
  );
  return app;
}
