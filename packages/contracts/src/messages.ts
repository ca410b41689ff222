// A person's messages for a task's agent: POST/GET /api/tasks/:id/messages and the event a sent
// message publishes (optio.task.<id>.message_sent).
import { z } from "zod";
import { Timestamp } from "./common";
import { MESSAGE_MAX_CHARS } from "./runs";

const MessageText = z
  .string()
  .max(MESSAGE_MAX_CHARS)
  .refine((value) => value.trim().length > 0, "must not be empty");

/**
 * How the message reaches the agent: `live`, written to the running agent's input; `next_run`,
 * kept and put before the prompt of the task's next run (a resume, a PR fix-up, a retry);
 * `resumed`, it resumed the agent's session as the new run's prompt.
 */
export const MessageDelivery = z.enum(["live", "next_run", "resumed"]);
export type MessageDelivery = z.infer<typeof MessageDelivery>;

/**
 * `{message, interrupt?}`, or the reference's `{content, mode: "soft" | "interrupt"}`. `interrupt`
 * stops the agent's current turn before the message (Claude Code; others take it as soft).
 */
export const SendMessageBody = z
  .strictObject({
    message: MessageText.optional(),
    interrupt: z.boolean().optional(),
    content: MessageText.optional().describe("The reference's name for `message`"),
    mode: z.enum(["soft", "interrupt"]).optional().describe("The reference's form of `interrupt`"),
  })
  .transform((body, ctx) => {
    const message = body.message ?? body.content;
    if (message === undefined) {
      ctx.addIssue({ code: "custom", path: ["message"], message: "is required" });
      return z.NEVER;
    }
    return { message, interrupt: body.interrupt ?? body.mode === "interrupt" };
  });
export type SendMessageInput = z.output<typeof SendMessageBody>;

export const TaskMessage = z.object({
  id: z.uuid(),
  taskId: z.uuid(),
  userId: z.uuid().nullable(),
  content: z.string(),
  interrupt: z.boolean(),
  delivery: MessageDelivery,
  /** The run that got it (live, or in its prompt); null while it waits for the next run. */
  runId: z.uuid().nullable(),
  /** null: not delivered yet (kept for the task's next run). */
  deliveredAt: Timestamp.nullable(),
  createdAt: Timestamp,
  user: z.object({ id: z.uuid(), name: z.string().nullable(), email: z.string() }).nullable(),
});
export type TaskMessage = z.infer<typeof TaskMessage>;

export const SendMessageResponse = z.object({
  message: TaskMessage,
  delivery: MessageDelivery,
  /** The agent's current turn was stopped before the message. */
  interrupted: z.boolean(),
  /** Why the message was not delivered live (or why an interrupt was not done), when it was not. */
  reason: z.string().nullable(),
});
export const MessageListResponse = z.object({ messages: z.array(TaskMessage) });

export const TaskMessageSentEvent = z.object({
  taskId: z.uuid(),
  messageId: z.uuid(),
  userId: z.uuid().nullable(),
  delivery: MessageDelivery,
  runId: z.uuid().nullable(),
});
