// The claim's SQL, the hot path of dispatch: two statements in one transaction on the pg pool
// (db/hot-sql.ts), sent in one round trip with its BEGIN and COMMIT:
//  1. pick: nothing while the daily budget is spent (one row of spend_days, read in the statement:
//     budgets/spend.store.ts), else the best eligible queued tasks for this runner (agent type,
//     labels, repo slots), row-locked with SKIP LOCKED so concurrent claims never wait on each
//     other's rows, then their repos' claim locks taken in a fixed order. The candidates are kept
//     in a transaction-local setting (CANDIDATES) for the second statement, which Postgres runs
//     with no round trip between.
//  2. claim: under those repo locks (a fresh snapshot sees every claim committed before), the
//     repo slots re-checked, then tasks → provisioning, runs leased, history rows and outbox events
//     written: the same rows TaskMachine.transition writes for queued → provisioning, whose only
//     reaction (subtask rules) has no consequence for that state.
import { subjects } from "@optio/contracts";
import type pg from "pg";
import { inTransaction, type HotTx } from "../db/hot-sql";
import { Prisma, type Run, type Task as TaskRow } from "../generated/prisma/client";
import { taskAndRunSelect, toTaskWithRun } from "../tasks/task-rows";
import type { StoredSecret } from "../secrets/secret-reader";
import { GLOBAL_SCOPE } from "../secrets/secret.store";
import type { RepoRunSettings } from "./run-spec";
import { budgetRow, type BudgetGate } from "../budgets/spend.store";

export const DEFAULT_MAX_CONCURRENT = 2;
/** How deep the fast path looks into the queue before falling back to one probe per repo. */
const HEAD = 64;
/** Advisory-lock namespace (first key of the two-key form) of the per-repo claim locks. */
const REPO_CLAIM_LOCK = 7011;
/** The transaction-local setting that hands the picked candidates (JSON) to the claim statement. */
const CANDIDATES = "optio.claim_candidates";
/** A claimed task's event subject, around its id (subjects.entityEvent, built in SQL). */
const [SUBJECT_BEFORE_ID, SUBJECT_AFTER_ID] = subjects.entityEvent("task", "\n", "state_changed").split("\n");

export type Candidate = { id: string; repo_url: string };

export type ClaimFilter = {
  agentTypes: readonly string[];
  /** The runner's labels: a task (and its repo) may require only labels among these. */
  labels: readonly string[];
  limit: number;
  skipped: readonly string[];
  /** The daily budget: while today's spend has reached its cap, nothing is picked. */
  budget: BudgetGate;
};

export type Lease = { runnerId: string; claimId: string | null; leaseMs: number };

/**
 * A claimed task with its leased run, its connected repo's run settings (null: not connected) and
 * the secrets its run can see, as stored (encrypted): the reply decrypts what the run needs.
 */
export type ClaimedTask = TaskRow & { runs: Run[]; repo: RepoRunSettings | null; secrets: StoredSecret[] };

/**
 * Where pick looks: the head of the queue (cheap, the common case), or, when busy repos fill the
 * whole head (a big backlog on one repo), each queued repo's best task through an index: the cost
 * depends on the number of repos with work, never on how many tasks wait behind a busy one.
 */
type QueuePlan = "head" | "repos";

/**
 * Picks, locks and claims in one transaction of one round trip, from the queue's head or, when busy
 * repos fill it, in a second one repo by repo: the candidates picked (in queue order) and the tasks
 * claimed of them, each with its leased run. Fewer claimed than picked: their repos filled up
 * meanwhile (a concurrent claim took the slot). `held`: the daily budget is spent, nothing was picked.
 */
export async function claimFromQueue(
  pool: pg.Pool,
  filter: ClaimFilter,
  lease: Lease,
): Promise<{ candidates: Candidate[]; claimed: ClaimedTask[]; held: boolean }> {
  const fromHead = await inTransaction(pool, (tx) => claimNext(tx, filter, lease, "head"));
  if (fromHead.candidates.length > 0 || fromHead.held) return fromHead;
  return inTransaction(pool, (tx) => claimNext(tx, filter, lease, "repos"));
}

async function claimNext(tx: HotTx, filter: ClaimFilter, lease: Lease, plan: QueuePlan) {
  const [picked, rows] = await tx.commitWithAll([pickStatement(filter, plan), claimStatement(lease)]);
  return {
    candidates: JSON.parse(picked![0]!.candidates as string) as Candidate[],
    claimed: rows!.map(toClaimedTask),
    held: picked![0]!.held === true,
  };
}

/**
 * What this runner may take: its agent type, not skipped, and the task's and its repo's required
 * labels among the runner's. The repo's come from a scalar subquery (one index probe per row
 * scanned), not a join: a join would make the planner read every queued task instead of walking
 * the queue index up to the LIMIT.
 */
function eligible(filter: ClaimFilter, alias: string): Prisma.Sql {
  const t = Prisma.raw(alias);
  return Prisma.sql`
    ${t}.agent_type = ANY(${[...filter.agentTypes]}::text[])
    AND NOT (${t}.id = ANY(${[...filter.skipped]}::uuid[]))
    AND COALESCE(${t}.required_labels, '{}') <@ ${[...filter.labels]}::text[]
    AND COALESCE((SELECT rl.required_labels FROM repos rl WHERE rl.repo_url = ${t}.repo_url), '{}')
        <@ ${[...filter.labels]}::text[]`;
}

const busy = Prisma.sql`
  SELECT repo_url, count(*)::int AS active FROM tasks
   WHERE state IN ('provisioning', 'running') GROUP BY repo_url`;

/** Eligible tasks of the queue head, ranked within their repo so a batch fits the repo's free slots. */
function headCandidates(filter: ClaimFilter): Prisma.Sql {
  return Prisma.sql`
    WITH busy AS (${busy}),
    head AS (
      SELECT t.id, t.repo_url, t.priority, t.position, t.created_at FROM tasks t
       WHERE t.state = 'queued' AND ${eligible(filter, "t")}
       ORDER BY t.priority, t.position, t.created_at
       LIMIT ${HEAD})
    SELECT h.id, h.repo_url, h.priority, h.position, h.created_at,
           row_number() OVER (PARTITION BY h.repo_url ORDER BY h.priority, h.position, h.created_at) AS rank,
           COALESCE(r.max_concurrent_tasks, ${DEFAULT_MAX_CONCURRENT}) - COALESCE(b.active, 0) AS free
      FROM head h
      LEFT JOIN busy b ON b.repo_url = h.repo_url
      LEFT JOIN repos r ON r.repo_url = h.repo_url`;
}

/**
 * The best eligible task of each queued repo with a free slot. One probe of tasks_repo_queue_idx
 * per repo walks the queued repos and yields each one's head task with it (the index is in queue
 * order within a repo); only a repo with a free slot whose head this runner cannot take costs a
 * second probe, for its best eligible task.
 */
function perRepoCandidates(filter: ClaimFilter): Prisma.Sql {
  const columns = Prisma.raw(
    "t.repo_url, t.id, t.priority, t.position, t.created_at, t.agent_type, t.required_labels",
  );
  const queueOrder = Prisma.raw("ORDER BY t.repo_url, t.priority, t.position, t.created_at LIMIT 1");
  return Prisma.sql`
    WITH RECURSIVE heads AS (
      (SELECT ${columns} FROM tasks t WHERE t.state = 'queued' ${queueOrder})
      UNION ALL
      SELECT n.* FROM heads h CROSS JOIN LATERAL (
        SELECT ${columns} FROM tasks t WHERE t.state = 'queued' AND t.repo_url > h.repo_url ${queueOrder}) n),
    busy AS (${busy}),
    open AS (
      SELECT h.*, COALESCE(r.max_concurrent_tasks, ${DEFAULT_MAX_CONCURRENT}) - COALESCE(b.active, 0) AS free
        FROM heads h
        LEFT JOIN busy b ON b.repo_url = h.repo_url
        LEFT JOIN repos r ON r.repo_url = h.repo_url)
    SELECT best.id, best.repo_url, best.priority, best.position, best.created_at, 1 AS rank, o.free
      FROM open o
      CROSS JOIN LATERAL (
        (SELECT o.id, o.repo_url, o.priority, o.position, o.created_at WHERE ${eligible(filter, "o")})
        UNION ALL
        (SELECT t.id, t.repo_url, t.priority, t.position, t.created_at FROM tasks t
          WHERE t.state = 'queued' AND t.repo_url = o.repo_url AND ${eligible(filter, "t")}
          ORDER BY t.priority, t.position, t.created_at LIMIT 1)
        LIMIT 1) best
     WHERE o.free > 0`;
}

/**
 * Locks up to `limit` of the ranked candidates that fit their repo's free slots (SKIP LOCKED: one
 * held by a concurrent claim is passed over), then takes the claim lock of each of their repos in
 * repo order (so two claims never wait on each other in a cycle). One row: `candidates`, the locked
 * ones in queue order as JSON, also kept in CANDIDATES for the claim statement, and `held`: the
 * daily budget is spent, so nothing was ranked (a one-time filter: the queue is not even read).
 */
function pickStatement(filter: ClaimFilter, plan: QueuePlan): Prisma.Sql {
  const ranked = plan === "head" ? headCandidates(filter) : perRepoCandidates(filter);
  return Prisma.sql`
    WITH budget AS MATERIALIZED (${budgetRow(filter.budget)}),
    ranked AS (${ranked}),
    chosen AS (
      SELECT id, priority, position, created_at FROM ranked
       WHERE rank <= free AND NOT (SELECT held FROM budget)
       ORDER BY priority, position, created_at LIMIT ${filter.limit}),
    locked AS (
      SELECT t.id, t.repo_url FROM tasks t
       WHERE t.id IN (SELECT id FROM chosen) AND t.state = 'queued'
       FOR UPDATE SKIP LOCKED),
    repo_locks AS (
      SELECT s.repo_url, pg_advisory_xact_lock(${REPO_CLAIM_LOCK}, hashtext(s.repo_url)) AS taken
        FROM (SELECT DISTINCT repo_url FROM locked ORDER BY repo_url) s)
    SELECT set_config(${CANDIDATES},
             COALESCE(json_agg(json_build_object('id', l.id, 'repo_url', l.repo_url)
                               ORDER BY c.priority, c.position, c.created_at), '[]')::text,
             true) AS candidates,
           (SELECT held FROM budget) AS held
      FROM locked l
      JOIN repo_locks k ON k.repo_url = l.repo_url
      JOIN chosen c ON c.id = l.id`;
}

/**
 * Claims the picked candidates (CANDIDATES) that still fit their repo's slots, in queue order, in
 * one statement: each claimed task with its leased run, in queue order.
 */
function claimStatement(lease: Lease): Prisma.Sql {
  const actor = `runner:${lease.runnerId}`;
  const message = `Claimed by runner ${lease.runnerId}`;
  return Prisma.sql`
    WITH picked AS (
      SELECT p.id, p.repo_url, ${SUBJECT_BEFORE_ID}::text || p.id::text || ${SUBJECT_AFTER_ID}::text AS subject, p.ord,
             row_number() OVER (PARTITION BY p.repo_url ORDER BY p.ord) AS rank
        FROM ROWS FROM (json_to_recordset(NULLIF(current_setting(${CANDIDATES}, true), '')::json)
                          AS (id uuid, repo_url text))
             WITH ORDINALITY AS p(id, repo_url, ord)),
    active AS (
      SELECT repo_url, count(*)::int AS n FROM tasks
       WHERE state IN ('provisioning', 'running') AND repo_url IN (SELECT repo_url FROM picked)
       GROUP BY repo_url),
    chosen AS (
      SELECT p.id, p.subject, p.ord FROM picked p
        LEFT JOIN active a ON a.repo_url = p.repo_url
        LEFT JOIN repos r ON r.repo_url = p.repo_url
       WHERE COALESCE(a.n, 0) + p.rank <= COALESCE(r.max_concurrent_tasks, ${DEFAULT_MAX_CONCURRENT})),
    queued_run AS (
      SELECT DISTINCT ON (task_id) id, task_id FROM runs
       WHERE task_id IN (SELECT id FROM chosen) AND state = 'queued'
       ORDER BY task_id, attempt DESC),
    moved AS (
      UPDATE tasks t
         SET state = 'provisioning', state_version = t.state_version + 1, updated_at = now(),
             attempts = CASE WHEN q.id IS NULL THEN t.attempts + 1 ELSE t.attempts END
        FROM chosen c LEFT JOIN queued_run q ON q.task_id = c.id
       WHERE t.id = c.id AND t.state = 'queued'
      RETURNING t.*, q.id AS queued_run_id, c.subject AS subject, c.ord AS ord),
    leased AS (
      UPDATE runs r
         SET state = 'provisioning', runner_id = ${lease.runnerId}, claim_id = ${lease.claimId}::uuid,
             lease_expires_at = now() + make_interval(secs => ${lease.leaseMs / 1000}::float8),
             updated_at = now()
        FROM moved m WHERE r.id = m.queued_run_id
      RETURNING r.*),
    created AS (
      INSERT INTO runs (id, task_id, attempt, state, runner_id, claim_id, lease_expires_at, updated_at)
      SELECT gen_random_uuid(), m.id, m.attempts, 'provisioning', ${lease.runnerId}, ${lease.claimId}::uuid,
             now() + make_interval(secs => ${lease.leaseMs / 1000}::float8), now()
        FROM moved m WHERE m.queued_run_id IS NULL
      RETURNING *),
    run AS (SELECT * FROM leased UNION ALL SELECT * FROM created),
    history AS (
      INSERT INTO task_events (id, task_id, from_state, to_state, trigger, message, actor, run_id)
      SELECT gen_random_uuid(), m.id, 'queued', 'provisioning', 'claimed', ${message}, ${actor}, run.id
        FROM moved m JOIN run ON run.task_id = m.id),
    announced AS (
      -- The row Outbox.record writes for a transition: the publisher moves it to JetStream.
      INSERT INTO outbox_events (id, subject, type, data)
      SELECT gen_random_uuid(), m.subject, 'task.state_changed',
             jsonb_build_object('taskId', m.id, 'fromState', 'queued', 'toState', 'provisioning',
                                'trigger', 'claimed', 'message', ${message}::text, 'actor', ${actor}::text,
                                'userId', NULL, 'runId', run.id, 'stateVersion', m.state_version)
        FROM moved m JOIN run ON run.task_id = m.id)
    SELECT ${taskAndRunSelect("m", "run")},
           rp.id AS "repo.id", rp.image AS "repo.image", rp.run_timeout_seconds AS "repo.runTimeoutSeconds",
           (SELECT COALESCE(json_agg(json_build_object('id', s.id, 'name', s.name, 'scope', s.scope,
                                                       'encrypted', s.encrypted)), '[]')
              FROM secrets s WHERE s.scope IN (${GLOBAL_SCOPE}, rp.id::text)) AS secrets
      FROM moved m JOIN run ON run.task_id = m.id LEFT JOIN repos rp ON rp.repo_url = m.repo_url
     ORDER BY m.ord`;
}

function toClaimedTask(row: Record<string, unknown>): ClaimedTask {
  return {
    ...toTaskWithRun(row),
    repo: row["repo.id"]
      ? {
          id: row["repo.id"] as string,
          image: row["repo.image"] as string,
          runTimeoutSeconds: row["repo.runTimeoutSeconds"] as number,
        }
      : null,
    secrets: row.secrets as StoredSecret[],
  };
}
