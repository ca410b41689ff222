// Runners as seen through their heartbeats, shared by every API replica through Postgres. A
// heartbeat renews the leases of the runs the runner holds and answers which ones it must stop.
import {
  WarmPool,
  type RunnerHeartbeat,
  type RunnerHeartbeatReply,
  type RunnerInfo,
  type RunnerView,
  type StopReason,
} from "@optio/contracts";
import type { PrismaClient } from "../db/prisma";
import { Prisma, type Runner as RunnerRow } from "../generated/prisma/client";
import { runStore } from "../runs/run.store";

export class RunnerRegistry {
  private readonly prisma: PrismaClient;
  private readonly leaseMs: number;
  /** A runner unheard of for this long is no longer listed. */
  private readonly staleMs: number;

  constructor(options: { prisma: PrismaClient; leaseMs: number; staleMs: number }) {
    this.prisma = options.prisma;
    this.leaseMs = options.leaseMs;
    this.staleMs = options.staleMs;
  }

  async record(info: RunnerInfo & { stopping?: boolean }): Promise<void> {
    const data = {
      host: info.host,
      version: info.version,
      driver: info.driver,
      isolated: info.isolated,
      slotsTotal: info.slots.total,
      slotsBusy: info.slots.busy,
      agentTypes: info.agentTypes,
      labels: info.labels,
      pool: info.pool ?? Prisma.DbNull,
      stopping: info.stopping ?? false,
      startedAt: new Date(info.startedAt),
      lastHeartbeatAt: new Date(),
    };
    await this.prisma.runner.upsert({
      where: { id: info.runnerId },
      create: { id: info.runnerId, ...data },
      update: data,
    });
  }

  /** Records the heartbeat, renews the leases it covers, and lists the runs to stop. */
  async heartbeat(beat: RunnerHeartbeat): Promise<RunnerHeartbeatReply> {
    await this.record(beat);
    if (beat.runs.length === 0) return { stop: [] };
    const ids = beat.runs.map((run) => run.runId);
    const rows = await this.prisma.run.findMany({
      where: { id: { in: ids } },
      select: { id: true, attempt: true, state: true, runnerId: true },
    });
    const byId = new Map(rows.map((row) => [row.id, row]));
    const renew: string[] = [];
    const stop: RunnerHeartbeatReply["stop"] = [];
    for (const held of beat.runs) {
      const row = byId.get(held.runId);
      const reason = stopReason(row, held.attempt, beat.runnerId);
      if (reason) stop.push({ ...held, reason });
      else renew.push(held.runId);
    }
    if (renew.length > 0) {
      await runStore.renewLeases(this.prisma, renew, new Date(Date.now() + this.leaseMs));
    }
    return { stop };
  }

  async list(): Promise<RunnerView[]> {
    const rows = await this.prisma.runner.findMany({
      where: { lastHeartbeatAt: { gt: new Date(Date.now() - this.staleMs) } },
      orderBy: { id: "asc" },
    });
    return rows.map(toRunnerView);
  }
}

function stopReason(
  row: { attempt: number; state: string; runnerId: string | null } | undefined,
  attempt: number,
  runnerId: string,
): StopReason | null {
  if (!row) return "superseded";
  if (row.state === "cancelled") return "cancelled";
  if (row.attempt !== attempt || row.runnerId !== runnerId) return "superseded";
  if (row.state !== "provisioning" && row.state !== "running") return "lease_lost";
  return null;
}

function toRunnerView(row: RunnerRow): RunnerView {
  return {
    runnerId: row.id,
    host: row.host,
    version: row.version,
    driver: row.driver as RunnerInfo["driver"],
    isolated: row.isolated,
    slots: { total: row.slotsTotal, busy: row.slotsBusy },
    agentTypes: row.agentTypes as RunnerInfo["agentTypes"],
    labels: row.labels,
    ...(row.pool ? { pool: WarmPool.parse(row.pool) } : {}),
    startedAt: row.startedAt.toISOString(),
    lastHeartbeatAt: row.lastHeartbeatAt.toISOString(),
    stopping: row.stopping,
  };
}
