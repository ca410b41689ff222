// Side effects on a task's issue: add a label, post a comment (once: a hidden marker names the task
// and purpose, so an attempt that posted before a crash is found instead of repeated), close it.
import type { PrismaClient } from "../db/prisma";
import type { SideEffect } from "../generated/prisma/client";
import type { GitPlatforms } from "../platform/platform-registry";
import type { SideEffectHandler } from "./side-effect.worker";
import { platformOfTask } from "./task-platform";

type IssueInput = { issueNumber: number; body?: string; label?: string };

export const commentMarker = (effect: Pick<SideEffect, "taskId" | "purpose">) =>
  `<!-- optio:${effect.taskId}:${effect.purpose} -->`;

export class IssueEffects implements SideEffectHandler {
  readonly purposes = ["issue_label:", "issue_comment:", "close_issue"];

  constructor(private readonly options: { prisma: PrismaClient; platforms: GitPlatforms }) {}

  async perform(effect: SideEffect): Promise<Record<string, unknown>> {
    const input = effect.input as IssueInput;
    const { platform, coords } = await platformOfTask(
      this.options.prisma,
      this.options.platforms,
      effect.taskId,
    );
    if (effect.purpose.startsWith("issue_label:")) {
      const label = effect.purpose.slice("issue_label:".length);
      await platform.addLabels(coords, input.issueNumber, [label]);
      return { label };
    }
    if (effect.purpose.startsWith("issue_comment:")) {
      const marker = commentMarker(effect);
      const existing = (await platform.listIssueComments(coords, input.issueNumber)).find((comment) =>
        comment.body.includes(marker),
      );
      if (existing) return { commentId: existing.id, found: true };
      const created = await platform.createComment(
        coords,
        input.issueNumber,
        `${input.body ?? ""}\n\n${marker}`,
      );
      return { commentId: created.id, url: created.url };
    }
    const issue = await platform.getIssue(coords, input.issueNumber);
    if (issue.state === "open") await platform.closeIssue(coords, input.issueNumber);
    return { closed: true, wasOpen: issue.state === "open" };
  }
}
