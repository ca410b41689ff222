// Wires the PR loop once: the watch store, the action applier, the reconciler, the watcher (refresh
// and sweep), the webhook service, and the listener the report applier tells about review verdicts.
import type { Logger } from "pino";
import type { PrismaClient } from "../db/prisma";
import type { ReviewListener } from "../dispatch/report-applier";
import type { SecretReader } from "../secrets/secret-reader";
import type { SideEffectStore } from "../side-effects/side-effect.store";
import type { TaskServices } from "../tasks/task-services";
import { PrActionApplier } from "./pr-actions";
import type { PrPlatform } from "./pr-platform";
import { PrReconciler } from "./pr-reconciler.service";
import { PrWatchStore } from "./pr-watch.store";
import { PrWatcher } from "./pr-watcher";
import { reviewVerdictListener } from "./review-verdicts";
import { WebhookService, type IssueLabeledListener } from "./webhook.service";

export type PrLoop = {
  store: PrWatchStore;
  reconciler: PrReconciler;
  watcher: PrWatcher;
  webhooks: WebhookService;
  onReview: ReviewListener;
};

/** Until a git platform client is configured: the loop has no PR to read or write. */
export const NO_PLATFORM: PrPlatform = {
  snapshot: () => Promise.reject(new Error("no git platform is configured")),
  merge: () => Promise.reject(new Error("no git platform is configured")),
  review: () => Promise.reject(new Error("no git platform is configured")),
  close: () => Promise.reject(new Error("no git platform is configured")),
};

export function createPrLoop(deps: {
  prisma: PrismaClient;
  tasks: Pick<TaskServices, "machine" | "work" | "subtasks">;
  platform: PrPlatform;
  /** The side-effect ledger (an issue closed after its PR merged); none: no issue follow-up. */
  effects?: SideEffectStore;
  secrets?: SecretReader | null;
  webhookSecret?: string | null;
  onIssueLabeled?: IssueLabeledListener | null;
  logger: Logger;
  sweepMs: number;
  /** How often every followed PR is polled (0: webhooks only). */
  pollMs?: number;
}): PrLoop {
  const { prisma, platform, logger } = deps;
  const { machine, work, subtasks } = deps.tasks;
  const store = new PrWatchStore({ prisma });
  const applier = new PrActionApplier({ machine, subtasks, effects: deps.effects });
  const reconciler = new PrReconciler({ work, store, applier, platform, logger });
  const watcher = new PrWatcher({
    prisma,
    store,
    reconciler,
    platform,
    logger,
    sweepMs: deps.sweepMs,
    pollMs: deps.pollMs,
  });
  const webhooks = new WebhookService({
    prisma,
    secrets: deps.secrets,
    envSecret: deps.webhookSecret,
    watcher,
    onIssueLabeled: deps.onIssueLabeled,
    logger,
  });
  return { store, reconciler, watcher, webhooks, onReview: reviewVerdictListener(applier) };
}
