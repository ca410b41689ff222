// optio webhook add|list|rm|deliveries: outbound webhook subscriptions (admin). `add` prints the
// signing secret, which the server shows only once.
import { Command } from "commander";
import {
  CreateWebhookResponse,
  NOTIFICATION_EVENT_TYPES,
  OkResponse,
  WebhookDeliveryListResponse,
  WebhookListResponse,
} from "@optio/contracts";
import type { CliEnv } from "../config";
import { contextOf } from "../context";
import { printResult, table } from "../output";
import { integer, list, oneOf, uuid } from "../parsers";

const EVENTS = [...NOTIFICATION_EVENT_TYPES, "*"] as const;
const eventList = (value: string, previous: string[] = []) => list(value, previous).map(oneOf(EVENTS));

export function webhookCommands(env: CliEnv): Command {
  const webhook = new Command("webhook").description(
    "outbound webhooks: task events POSTed to a URL (admin)",
  );

  webhook
    .command("add")
    .description("subscribe a URL; prints the signing secret (shown only this once)")
    .argument("<url>", "where deliveries are POSTed")
    .option(
      "--event <types>",
      `event types, repeatable or comma-separated: ${EVENTS.join(", ")} (default: *)`,
      eventList,
    )
    .option("--description <text>", "what the subscription is for")
    .action(async (url: string, flags: { event?: string[]; description?: string }, command: Command) => {
      const ctx = contextOf(command, env);
      const events = flags.event ?? ["*"];
      const result = await ctx.client().request(CreateWebhookResponse, "POST", "/api/webhooks", {
        body: { url, events, description: flags.description },
      });
      if (!ctx.out.json) ctx.out.stderr(`subscribed ${result.webhook.id}; the secret is not shown again:`);
      printResult(ctx.out, result, () => result.secret);
    });

  webhook
    .command("list")
    .alias("ls")
    .description("webhook subscriptions")
    .action(async (_flags, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(WebhookListResponse, "GET", "/api/webhooks");
      printResult(ctx.out, result, () =>
        table([["ID", "EVENTS", "URL"], ...result.webhooks.map((w) => [w.id, w.events.join(","), w.url])]),
      );
    });

  webhook
    .command("rm")
    .alias("remove")
    .description("delete a subscription (its pending deliveries are dropped)")
    .argument("<id>", "subscription id", uuid)
    .action(async (id: string, _flags, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx.client().request(OkResponse, "DELETE", `/api/webhooks/${id}`);
      printResult(ctx.out, result, () => `removed ${id}`);
    });

  webhook
    .command("deliveries")
    .description("a subscription's deliveries, newest first")
    .argument("<id>", "subscription id", uuid)
    .option("--limit <n>", "how many", integer(1, 200))
    .option("--offset <n>", "skip this many", integer(0, 1_000_000))
    .action(async (id: string, flags: { limit?: number; offset?: number }, command: Command) => {
      const ctx = contextOf(command, env);
      const result = await ctx
        .client()
        .request(WebhookDeliveryListResponse, "GET", `/api/webhooks/${id}/deliveries`, {
          query: { limit: flags.limit, offset: flags.offset },
        });
      printResult(ctx.out, result, () =>
        table([
          ["DELIVERY", "EVENT", "STATE", "ATTEMPTS", "LAST"],
          ...result.deliveries.map((d) => [
            d.id,
            d.eventType,
            d.state,
            String(d.attempts),
            d.lastStatus !== null ? String(d.lastStatus) : (d.lastError ?? ""),
          ]),
        ]),
      );
    });

  return webhook;
}
