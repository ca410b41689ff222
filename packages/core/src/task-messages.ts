// A person's message for a task's agent (POST /api/tasks/:id/messages): what sending it does in
// each state of the task, and how messages kept for a later run are put before that run's prompt.
import type { ActionRule } from "./task-actions";
import type { TaskState } from "./task-states";

/**
 * How a message reaches the agent: `live` (written to the running agent's input), `next_run` (kept,
 * and put before the prompt of the task's next run), `resumed` (it resumed the agent's session).
 */
export const MESSAGE_DELIVERIES = ["live", "next_run", "resumed"] as const;
export type MessageDelivery = (typeof MESSAGE_DELIVERIES)[number];

/**
 * The resume a message causes: from the states the reference resumes on a message (the `resume`
 * action accepts only needs_attention and failed), same session, the message as the prompt.
 */
export const MESSAGE_RESUME: ActionRule = {
  from: ["needs_attention", "failed", "pr_opened", "cancelled"],
  to: "requeue",
  trigger: "user_message",
  runKind: "resume",
  keepSession: true,
};

/**
 * What sending does: `live`, ask the runner holding the run to write it to the agent (kept for the
 * next run when it cannot); `resume`, a resume run with it as the prompt; `keep`, keep it for the
 * next run (a run not started yet takes it at once); `refuse`, a completed task takes no message.
 * A shell task has no agent to resume: its message is kept (as comment lines before the script).
 */
export function planMessage(state: TaskState, agentType: string): "live" | "resume" | "keep" | "refuse" {
  if (state === "provisioning" || state === "running") return "live";
  if (state === "completed") return "refuse";
  if (MESSAGE_RESUME.from.includes(state)) return agentType === "shell" ? "keep" : "resume";
  return "keep";
}

export interface KeptMessage {
  content: string;
  /** Who sent it (a name or email), when known. */
  author: string | null;
  createdAt: Date;
}

/**
 * `prompt` preceded by messages the agent did not get while it ran, newest first, each a block of
 * its own: messages folded into a prompt one at a time read the same as all at once. A shell
 * script gets them as comment lines, so it still runs.
 */
export function promptWithMessages(
  prompt: string,
  messages: readonly KeptMessage[],
  options: { asComments?: boolean } = {},
): string {
  if (messages.length === 0) return prompt;
  const newestFirst = [...messages].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const blocks = newestFirst.map((message) =>
    [
      `[Message from ${message.author ?? "the user"} at ${message.createdAt.toISOString()}, sent while you were not running]`,
      message.content,
      "[End of message]",
      "",
    ].join("\n"),
  );
  const text = blocks.join("\n");
  if (!options.asComments) return `${text}\n${prompt}`;
  return `${text
    .split("\n")
    .map((line) => (line ? `# ${line}` : "#"))
    .join("\n")}\n${prompt}`;
}
