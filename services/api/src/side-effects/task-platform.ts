// The platform of a task's repository, for side-effect handlers.
import type { PrismaClient } from "../db/prisma";
import { PlatformError } from "../platform/git-platform";
import type { GitPlatforms, RepoPlatform } from "../platform/platform-registry";

export async function platformOfTask(
  prisma: PrismaClient,
  platforms: GitPlatforms,
  taskId: string,
): Promise<RepoPlatform> {
  const task = await prisma.task.findUnique({
    where: { id: taskId },
    select: { repoId: true, repoUrl: true },
  });
  if (!task) throw new PlatformError("not_found", `task ${taskId} no longer exists`);
  const located = await platforms.forRepo({ id: task.repoId, repoUrl: task.repoUrl });
  if (!located) throw new PlatformError("not_configured", `${task.repoUrl} is not on a git platform`);
  return located;
}
