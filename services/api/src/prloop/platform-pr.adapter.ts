// The PR loop's PrPlatform on top of the GitPlatform clients (GitHub now): resolves the client of
// the task's repository, and makes each write safe to repeat by looking at the platform first
// (an already merged PR is not merged again) or by falling back where GitHub refuses (a bot may
// not approve or request changes on its own PR: the verdict is posted as a comment-review then).
import { isPlatformError, PlatformError } from "../platform/git-platform";
import type { GitPlatforms, RepoPlatform } from "../platform/platform-registry";
import type { PrPlatform, PrTarget } from "./pr-platform";

const EVENTS = { APPROVE: "approve", REQUEST_CHANGES: "request_changes", COMMENT: "comment" } as const;
const VERDICT_TITLES = {
  APPROVE: "Approved",
  REQUEST_CHANGES: "Changes requested",
  COMMENT: "Review",
} as const;

export class PlatformPrAdapter implements PrPlatform {
  constructor(private readonly platforms: GitPlatforms) {}

  private async client(target: PrTarget): Promise<RepoPlatform> {
    const found = await this.platforms.forRepo({ id: target.repoId ?? null, repoUrl: target.repoUrl });
    if (!found) throw new PlatformError("not_configured", `${target.repoUrl} is not on a git platform`);
    return found;
  }

  async snapshot(target: PrTarget) {
    const { platform, coords } = await this.client(target);
    return (await platform.observePull(coords, target.prNumber)).snapshot;
  }

  async merge(target: PrTarget, input: { method: "merge" | "squash" | "rebase"; headSha: string }) {
    const { platform, coords } = await this.client(target);
    const pull = await platform.getPull(coords, target.prNumber);
    if (pull.merged) return { merged: true as const };
    try {
      await platform.mergePull(coords, target.prNumber, { method: input.method, sha: input.headSha });
      return { merged: true as const };
    } catch (error) {
      if (isPlatformError(error, "conflict") || isPlatformError(error, "invalid")) {
        return { merged: false as const, reason: error.message };
      }
      throw error;
    }
  }

  async review(
    target: PrTarget,
    input: { event: "APPROVE" | "REQUEST_CHANGES" | "COMMENT"; body: string; headSha: string },
  ) {
    const { platform, coords } = await this.client(target);
    try {
      await platform.createReview(coords, target.prNumber, { event: EVENTS[input.event], body: input.body });
    } catch (error) {
      if (!isPlatformError(error, "invalid") || input.event === "COMMENT") throw error;
      const body = `**${VERDICT_TITLES[input.event]}** (Optio review agent)\n\n${input.body}`;
      await platform.createReview(coords, target.prNumber, { event: "comment", body });
    }
  }

  async close(target: PrTarget, input: { comment: string }) {
    const { platform, coords } = await this.client(target);
    const pull = await platform.getPull(coords, target.prNumber);
    if (pull.state === "closed") return;
    await platform.createComment(coords, target.prNumber, input.comment);
    await platform.closePull(coords, target.prNumber);
  }
}
