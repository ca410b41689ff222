// The task an issue becomes: its prompt (title, body, comments) and how Optio announces it.
import type { PlatformComment, PlatformIssue } from "../platform/git-platform";

export const OPTIO_LABEL = "optio";

/** Longest prompt built from an issue; long threads keep their newest comments. */
const MAX_PROMPT = 60_000;

export function issuePrompt(issue: PlatformIssue, comments: PlatformComment[]): string {
  const head = `# ${issue.title}\n\n${issue.body.trim() || "(no description)"}\n\nIssue: ${issue.url}\n`;
  const blocks = comments.map(
    (comment) => `### ${comment.author ?? "someone"} (${comment.createdAt})\n\n${comment.body.trim()}\n`,
  );
  let tail = blocks.length ? `\n## Comments\n\n${blocks.join("\n")}` : "";
  while (head.length + tail.length > MAX_PROMPT && blocks.length > 0) {
    blocks.shift();
    tail = `\n## Comments (older ones left out)\n\n${blocks.join("\n")}`;
  }
  return (head + tail).slice(0, MAX_PROMPT);
}

export function issueTaskTitle(issue: PlatformIssue): string {
  return `#${issue.number} ${issue.title}`.slice(0, 200);
}

export function assignedComment(taskId: string, agentType: string): string {
  return `Optio is working on this issue: task \`${taskId}\` (agent: ${agentType}). A pull request will follow.`;
}
