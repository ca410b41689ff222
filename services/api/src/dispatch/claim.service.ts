// Claiming work for a runner: the best eligible queued tasks (agent type, labels, repo slots), up
// to the runner's free slots, locked with SKIP LOCKED so API replicas and runners never start the
// same run twice. The SQL is in claim.store.ts; this decides how many and retries lost races.
import type { AgentType, ClaimRequest, RunSpec } from "@optio/contracts";
import { poolOf, type PrismaClient } from "../db/prisma";
import type { Outbox } from "../events/outbox";
import type { RunSecrets } from "../secrets/run-secrets";
import { claimFromQueue, type ClaimedTask } from "./claim.store";
import { buildRunSpec, type RunDefaults } from "./run-spec";
import type { DailyBudget } from "../budgets/daily-budget";

/** A claimed task, fresh (its secrets read with it) or replayed (secrets to read). */
type SpecSource = Omit<ClaimedTask, "secrets"> & { secrets?: ClaimedTask["secrets"] };

/** Candidates lost to concurrent claims (repo slot taken meanwhile) are skipped this many times. */
const MAX_TRIES = 8;

export class ClaimService {
  private readonly prisma: PrismaClient;
  private readonly outbox: Outbox;
  private readonly leaseMs: number;
  private readonly defaults: RunDefaults;
  private readonly secrets: RunSecrets;
  private readonly budget: Pick<DailyBudget, "gate">;

  constructor(options: {
    prisma: PrismaClient;
    outbox: Outbox;
    leaseMs: number;
    defaults: RunDefaults;
    secrets: RunSecrets;
    /** The daily budget: while it is spent, claims start nothing. */
    budget: Pick<DailyBudget, "gate">;
  }) {
    this.budget = options.budget;
    this.prisma = options.prisma;
    this.outbox = options.outbox;
    this.leaseMs = options.leaseMs;
    this.defaults = options.defaults;
    this.secrets = options.secrets;
  }

  /**
   * Claims up to `freeSlots` runs (one unless the runner reads batches), or none when nothing it
   * can run is eligible. A repeated claim id (the runner missed our reply) returns the runs of that
   * claim that are still unstarted, and claims nothing new.
   */
  async claim(request: ClaimRequest): Promise<RunSpec[]> {
    if (request.claimId) {
      const previous = await this.prisma.run.findMany({
        where: { claimId: request.claimId },
        include: { task: true },
        orderBy: { createdAt: "asc" },
      });
      if (previous.length > 0) {
        const open = previous.filter(
          (run) => run.runnerId === request.runnerId && run.state === "provisioning",
        );
        const repos = await this.prisma.repo.findMany({
          where: { repoUrl: { in: open.map((run) => run.task.repoUrl) } },
        });
        const repoOf = (url: string) => repos.find((repo) => repo.repoUrl === url) ?? null;
        return this.specs(
          open.map(({ task, ...run }) => ({ ...task, runs: [run], repo: repoOf(task.repoUrl) })),
        );
      }
    }
    const claimed = await this.claimFresh(request);
    const specs = await this.specs(claimed);
    // The claim's state_changed events go out with the publisher's next batch, which waits a few
    // ms for others: the runner's start is the latency users feel, not the event's.
    if (claimed.length > 0) this.outbox.committed();
    return specs;
  }

  /**
   * Picks, locks and claims (claimFromQueue); when every candidate's repo filled up meanwhile (a
   * concurrent claim took the slot), tries again without them.
   */
  private async claimFresh(request: ClaimRequest): Promise<ClaimedTask[]> {
    const skipped: string[] = [];
    const lease = { runnerId: request.runnerId, claimId: request.claimId ?? null, leaseMs: this.leaseMs };
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const filter = {
        agentTypes: request.agentTypes,
        labels: request.labels,
        limit: request.batch ? request.freeSlots : 1,
        skipped,
        budget: this.budget.gate(),
      };
      const { candidates, claimed } = await claimFromQueue(poolOf(this.prisma), filter, lease);
      if (candidates.length === 0 || claimed.length > 0) return claimed;
      skipped.push(...candidates.map((c) => c.id)); // their repos filled up meanwhile
    }
    return [];
  }

  /**
   * Secrets go only into this reply, never into a row. A fresh claim read them (encrypted) in its
   * claim statement; a replayed one has them read here.
   */
  private async specs(claimed: SpecSource[]): Promise<RunSpec[]> {
    return Promise.all(
      claimed.map(async (task) => {
        const repo = task.repo && { id: task.repo.id, repoUrl: task.repoUrl };
        const secrets = await this.secrets.forRun(task.agentType as AgentType, repo, task.secrets);
        return { ...buildRunSpec(task, task.runs[0]!, task.repo, this.defaults), ...secrets };
      }),
    );
  }
}
