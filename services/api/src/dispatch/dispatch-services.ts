// Wires the dispatch side once; services.ts (main and tests) calls createDispatch.
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { PrismaClient } from "../db/prisma";
import type { Outbox } from "../events/outbox";
import type { LiveHints } from "../logs/live-hints";
import type { TaskServices } from "../tasks/task-services";
import { ClaimService } from "./claim.service";
import { DispatchServer } from "./dispatch.server";
import { LeaseReaper } from "./lease-reaper";
import { ReportApplier, type ReportApplierOptions, type ReviewListener } from "./report-applier";
import { RunnerRegistry } from "./runner-registry";
import type { RunSecrets } from "../secrets/run-secrets";
import type { StoredSecretsRedactor } from "../secrets/stored-secrets-redactor";
import type { DailyBudget } from "../budgets/daily-budget";

export type DispatchSettings = {
  leaseMs: number;
  reapIntervalMs: number;
  runnerStaleMs: number;
  defaultImage: string;
  defaultTimeoutSeconds: number;
};

export type Dispatch = {
  registry: RunnerRegistry;
  server: DispatchServer;
  reaper: LeaseReaper;
  claims: ClaimService;
};

export function createDispatch(deps: {
  prisma: PrismaClient;
  nats: NatsConnection;
  logger: Logger;
  tasks: Pick<TaskServices, "machine" | "work">;
  outbox: Outbox;
  hints: LiveHints;
  settings: DispatchSettings;
  /** What a claimed run receives (keys, git credential). */
  runSecrets: RunSecrets;
  /** Scrubs stored secret values from reports before they are stored. */
  redaction: StoredSecretsRedactor;
  pullRequests?: ReportApplierOptions["pullRequests"];
  /** Told how review subtasks end (the PR loop). */
  onReview?: ReviewListener;
  /** The daily budget the claim applies. */
  budget: DailyBudget;
}): Dispatch {
  const { prisma, nats, logger, settings } = deps;
  const { machine, work } = deps.tasks;
  const claims = new ClaimService({
    prisma,
    outbox: deps.outbox,
    leaseMs: settings.leaseMs,
    defaults: { image: settings.defaultImage, timeoutSeconds: settings.defaultTimeoutSeconds },
    secrets: deps.runSecrets,
    budget: deps.budget,
  });
  const reaper = new LeaseReaper({
    prisma,
    machine,
    work,
    logger: logger.child({ component: "lease-reaper" }),
    intervalMs: settings.reapIntervalMs,
  });
  const reports = new ReportApplier({
    machine,
    work,
    leaseMs: settings.leaseMs,
    redaction: deps.redaction,
    pullRequests: deps.pullRequests,
    onReview: deps.onReview,
  });
  const registry = new RunnerRegistry({ prisma, leaseMs: settings.leaseMs, staleMs: settings.runnerStaleMs });
  const server = new DispatchServer({
    nats,
    claims,
    reports,
    registry,
    reaper,
    hints: deps.hints,
    logger: logger.child({ component: "dispatch" }),
  });
  return { registry, server, reaper, claims };
}
