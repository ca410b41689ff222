// Every write to a run row, named by the step of the run's life it records. Two hot statements
// are the exception, each written once in raw SQL beside the rest of its transaction: the claim's
// (dispatch/claim.store.ts) and intake's first run (tasks/task-factory.ts).
import type { RunResult } from "@optio/contracts";
import type { PrismaClient, Tx } from "../db/prisma";
import type { RunKind, RunState } from "../generated/prisma/enums";

/** Runs that have not ended: waiting for a runner, or held by one. */
const OPEN_RUN_STATES = ["queued", "provisioning", "running"] as const;
/** Runs a runner holds (under a lease). */
export const LEASED_RUN_STATES = ["provisioning", "running"] as const;

type Db = Tx | PrismaClient;

/** What a result records on its run, whatever becomes of the task. */
function resultColumns(result: RunResult) {
  return {
    exitCode: result.exitCode,
    branch: result.pushed ? result.branch : null,
    sessionId: result.sessionId,
    model: result.model,
    costUsd: result.costUsd,
    inputTokens: result.inputTokens,
    outputTokens: result.outputTokens,
  };
}

export const runStore = {
  /** A new attempt, queued for a runner. */
  createAttempt(
    tx: Tx,
    run: {
      taskId: string;
      attempt: number;
      kind: RunKind;
      prompt?: string | null;
      resumeSessionId?: string | null;
    },
  ) {
    return tx.run.create({
      data: {
        taskId: run.taskId,
        attempt: run.attempt,
        kind: run.kind,
        prompt: run.prompt ?? null,
        resumeSessionId: run.resumeSessionId ?? null,
      },
    });
  },

  /** A run not started yet gets the messages it carries before its prompt (task-messages.store.ts). */
  setPrompt: (tx: Tx, runId: string, prompt: string) =>
    tx.run.update({ where: { id: runId }, data: { prompt } }),

  /** Closes a task's open runs as the task ends; returns those it closed (as they were). */
  async closeOpen(
    tx: Tx,
    taskId: string,
    close: {
      state: Extract<RunState, "succeeded" | "failed" | "cancelled">;
      at: Date;
      message: string | null;
    },
  ) {
    const open = await tx.run.findMany({
      where: { taskId, state: { in: [...OPEN_RUN_STATES] } },
      select: { id: true, attempt: true, state: true, runnerId: true },
    });
    if (open.length === 0) return open;
    await tx.run.updateMany({
      where: { id: { in: open.map((run) => run.id) }, state: { in: [...OPEN_RUN_STATES] } },
      data: {
        state: close.state,
        finishedAt: close.at,
        ...(close.state === "cancelled" && { errorCode: "CANCELLED", error: close.message }),
        ...(close.state === "failed" && { error: close.message }),
      },
    });
    return open;
  },

  /** The last report applied (reports apply in order, once). */
  advanceReportSeq: (tx: Tx, runId: string, seq: number) =>
    tx.run.update({ where: { id: runId }, data: { lastReportSeq: seq } }),

  started: (tx: Tx, runId: string, started: { at: Date; containerId: string | null; leaseExpiresAt: Date }) =>
    tx.run.update({
      where: { id: runId },
      data: {
        state: "running",
        startedAt: started.at,
        containerId: started.containerId,
        leaseExpiresAt: started.leaseExpiresAt,
      },
    }),

  renewLease: (tx: Tx, runId: string, leaseExpiresAt: Date) =>
    tx.run.update({ where: { id: runId }, data: { leaseExpiresAt } }),

  /** Renews the leases of the runs a runner still holds (its heartbeat). */
  renewLeases: (db: Db, runIds: string[], leaseExpiresAt: Date) =>
    db.run.updateMany({
      where: { id: { in: runIds }, state: { in: [...LEASED_RUN_STATES] } },
      data: { leaseExpiresAt },
    }),

  /** A restarted runner holds nothing: its runs' leases expire now. */
  forfeitLeases: (db: Db, runnerId: string) =>
    db.run.updateMany({
      where: { runnerId, state: { in: [...LEASED_RUN_STATES] } },
      data: { leaseExpiresAt: new Date(0) },
    }),

  /** A result that came after the run was closed (cancelled): recorded, nothing else. */
  recordLateResult: (tx: Tx, runId: string, result: RunResult) =>
    tx.run.update({ where: { id: runId }, data: resultColumns(result) }),

  /** The run ended with a result or a bare exit: its outcome, and the result's columns if any. */
  finish: (
    tx: Tx,
    runId: string,
    end: {
      state: Extract<RunState, "succeeded" | "failed">;
      at: Date;
      exitCode: number | null;
      errorCode: string | null;
      error: string | null;
      result: RunResult | null;
    },
  ) =>
    tx.run.update({
      where: { id: runId },
      data: {
        state: end.state,
        finishedAt: end.at,
        exitCode: end.exitCode,
        errorCode: end.errorCode,
        error: end.error,
        leaseExpiresAt: null,
        ...(end.result && resultColumns(end.result)),
      },
    }),

  /** The runner stopped renewing the run's lease: a newer attempt (or nothing) replaces it. */
  leaseExpired: (tx: Tx, runId: string, message: string) =>
    tx.run.update({
      where: { id: runId },
      data: { state: "superseded", finishedAt: new Date(), errorCode: "LEASE_EXPIRED", error: message },
    }),
};
