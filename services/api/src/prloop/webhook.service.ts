// GitHub webhook deliveries: verified (X-Hub-Signature-256 with the secret GITHUB_WEBHOOK_SECRET),
// parsed, de-duplicated by X-GitHub-Delivery, then turned into PR refreshes. The answer does not wait
// for GitHub's API: the watcher refreshes in the background and the sweep retries what fails.
import type { Logger } from "pino";
import type { PrismaClient } from "../db/prisma";
import { AppError, invalidField } from "../errors";
import type { SecretReader } from "../secrets/secret-reader";
import type { PrWatcher } from "./pr-watcher";
import { isWebhookEvent, webhookSubject, type WebhookSubject } from "./webhook-events";
import { verifySignature } from "./webhook-signature";

export const WEBHOOK_SECRET_NAME = "GITHUB_WEBHOOK_SECRET";

export type WebhookDelivery = {
  event: string | undefined;
  deliveryId: string | undefined;
  signature: string | undefined;
  rawBody: string;
};

export type WebhookOutcome =
  | { status: 200; body: { ok: true; duplicate?: true } }
  | { status: 202; body: { accepted: boolean; ignored?: true; tasks: number } };

/** Told about an issue labelled on GitHub (the issues service may import it as a task). */
export type IssueLabeledListener = (
  issue: Extract<WebhookSubject, { kind: "issue_labeled" }>,
) => Promise<void>;

export class WebhookService {
  private readonly prisma: PrismaClient;
  private readonly secrets: SecretReader | null;
  private readonly envSecret: string | null;
  private readonly watcher: PrWatcher;
  private readonly onIssueLabeled: IssueLabeledListener | null;
  private readonly logger: Logger;

  constructor(options: {
    prisma: PrismaClient;
    secrets?: SecretReader | null;
    /** GITHUB_WEBHOOK_SECRET from the environment: used when no stored secret exists. */
    envSecret?: string | null;
    watcher: PrWatcher;
    onIssueLabeled?: IssueLabeledListener | null;
    logger: Logger;
  }) {
    this.prisma = options.prisma;
    this.secrets = options.secrets ?? null;
    this.envSecret = options.envSecret || null;
    this.watcher = options.watcher;
    this.onIssueLabeled = options.onIssueLabeled ?? null;
    this.logger = options.logger;
  }

  private async secret(): Promise<string | null> {
    return (await this.secrets?.resolve(WEBHOOK_SECRET_NAME, null)) ?? this.envSecret;
  }

  /** Verifies before anything else: an unverified delivery changes nothing and learns nothing. */
  async receive(delivery: WebhookDelivery): Promise<WebhookOutcome> {
    const secret = await this.secret();
    if (!secret) {
      throw new AppError(503, "SERVICE_UNAVAILABLE", `No webhook secret: set ${WEBHOOK_SECRET_NAME}`);
    }
    if (!delivery.signature) {
      throw new AppError(401, "AUTH_REQUIRED", "The X-Hub-Signature-256 header is missing");
    }
    if (!verifySignature(secret, delivery.rawBody, delivery.signature)) {
      throw new AppError(401, "AUTH_INVALID", "The X-Hub-Signature-256 signature does not match");
    }
    const { event, deliveryId } = delivery;
    if (!event) throw invalidField("headers.x-github-event", "is required");
    if (!deliveryId || deliveryId.length > 100) {
      throw invalidField("headers.x-github-delivery", "is required (at most 100 characters)");
    }
    if (event === "ping") return { status: 200, body: { ok: true } };
    if (!isWebhookEvent(event)) return { status: 202, body: { accepted: false, ignored: true, tasks: 0 } };

    let payload: unknown;
    try {
      payload = JSON.parse(delivery.rawBody);
    } catch {
      throw invalidField("body", "must be a JSON object");
    }
    const subject = webhookSubject(event, payload);
    const action = (payload as { action?: unknown }).action;
    const inserted = await this.prisma.$executeRaw`
      INSERT INTO webhook_deliveries (id, event, action)
      VALUES (${deliveryId}, ${event}, ${typeof action === "string" ? action.slice(0, 100) : null})
      ON CONFLICT (id) DO NOTHING`;
    if (inserted === 0) return { status: 200, body: { ok: true, duplicate: true } };

    if (subject.kind === "issue_labeled" && this.onIssueLabeled) {
      await this.onIssueLabeled(subject).catch((err: unknown) =>
        this.logger.warn({ err, issue: subject.issueNumber }, "labelled issue not imported"),
      );
    }
    const tasks = await this.watcher.tasksFor(subject);
    this.watcher.refreshLater(tasks);
    this.logger.debug({ event, deliveryId, tasks: tasks.length }, "webhook accepted");
    return { status: 202, body: { accepted: true, tasks: tasks.length } };
  }
}
