// Claiming work for a runner: the best eligible queued task, locked with SKIP LOCKED so API
// replicas and runners never start the same run twice.
import type { AgentType, ClaimRequest, RunSpec } from "@optio/contracts";
import type { Repo, Run, Task } from "../generated/prisma/client";
import type { RunSecrets } from "../secrets/run-secrets";
import type { TaskMachine } from "../tasks/task-machine";
import type { TaskUnitOfWork } from "../tasks/task-work";
import { DEFAULT_MAX_CONCURRENT, lockCandidate, nextCandidate } from "./claim-candidates";
import { buildRunSpec, type RunDefaults } from "./run-spec";

export class ClaimService {
  private readonly machine: TaskMachine;
  private readonly work: TaskUnitOfWork;
  private readonly leaseMs: number;
  private readonly defaults: RunDefaults;
  private readonly secrets: RunSecrets;

  constructor(options: {
    machine: TaskMachine;
    work: TaskUnitOfWork;
    leaseMs: number;
    defaults: RunDefaults;
    secrets: RunSecrets;
  }) {
    this.machine = options.machine;
    this.work = options.work;
    this.leaseMs = options.leaseMs;
    this.defaults = options.defaults;
    this.secrets = options.secrets;
  }

  /** Claims one run for the runner, or null when nothing it can run is eligible. */
  async claim(request: ClaimRequest): Promise<RunSpec | null> {
    const claimed = await this.claimRun(request);
    if (!claimed) return null;
    const { task, run, repo } = claimed;
    // Secrets are read after the claim committed and go only into this reply, never into a row.
    const secrets = await this.secrets.forRun(task.agentType as AgentType, repo);
    return { ...buildRunSpec(task, run, repo, this.defaults), ...secrets };
  }

  private async claimRun(request: ClaimRequest): Promise<{ task: Task; run: Run; repo: Repo | null } | null> {
    return this.work.run(async (work) => {
      const { tx } = work;
      if (request.claimId) {
        // A repeated claim (the runner missed our reply): the same run again, or nothing.
        const previous = await tx.run.findUnique({
          where: { claimId: request.claimId },
          include: { task: true },
        });
        if (previous) {
          if (previous.runnerId !== request.runnerId || previous.state !== "provisioning") return null;
          const repo = await tx.repo.findUnique({ where: { repoUrl: previous.task.repoUrl } });
          return { task: previous.task, run: previous, repo };
        }
      }
      const skipped: string[] = [];
      // A candidate may be held by a concurrent claim or lose the per-repo race; try the next ones.
      for (let tries = 0; tries < 8; tries++) {
        const candidate = await nextCandidate(tx, request.agentTypes, skipped);
        if (!candidate) return null;
        if (!(await lockCandidate(tx, candidate.id))) {
          skipped.push(candidate.id); // another claim holds it
          continue;
        }
        // Serialise claims per repo so two replicas cannot both take its last free slot.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${candidate.repo_url}))`;
        const [slots] = await tx.$queryRaw<{ active: number; limit: number }[]>`
          SELECT (SELECT count(*)::int FROM tasks WHERE repo_url = ${candidate.repo_url}
                    AND state IN ('provisioning', 'running')) AS active,
                 COALESCE((SELECT max_concurrent_tasks FROM repos WHERE repo_url = ${candidate.repo_url}),
                          ${DEFAULT_MAX_CONCURRENT}) AS limit`;
        if (slots && slots.active >= slots.limit) {
          skipped.push(candidate.id);
          continue;
        }

        const task = await this.machine.transition(work, {
          taskId: candidate.id,
          to: "provisioning",
          trigger: "claimed",
          message: `Claimed by runner ${request.runnerId}`,
          accepted: ["queued"],
          actor: { kind: "runner", runnerId: request.runnerId },
        });
        const queued = await tx.run.findFirst({
          where: { taskId: task.id, state: "queued" },
          orderBy: { attempt: "desc" },
        });
        const claimed = {
          state: "provisioning" as const,
          runnerId: request.runnerId,
          claimId: request.claimId ?? null,
          leaseExpiresAt: new Date(Date.now() + this.leaseMs),
        };
        const run = queued
          ? await tx.run.update({ where: { id: queued.id }, data: claimed })
          : await tx.run.create({ data: { taskId: task.id, attempt: task.attempts + 1, ...claimed } });
        if (!queued) await tx.task.update({ where: { id: task.id }, data: { attempts: run.attempt } });
        const repo = await tx.repo.findUnique({ where: { repoUrl: task.repoUrl } });
        return { task, run, repo };
      }
      return null;
    });
  }
}
