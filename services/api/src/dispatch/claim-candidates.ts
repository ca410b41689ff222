// Which queued task a runner should get: the first in queue order (priority, position, age) whose
// repo has a free slot (maxConcurrentTasks) and whose agent type the runner supports. Reads only;
// the claim locks and re-checks the candidate.
import type { Tx } from "../db/prisma";

export const DEFAULT_MAX_CONCURRENT = 2;
/** How deep the fast path looks into the queue before falling back to one probe per repo. */
const HEAD = 200;

export type Candidate = { id: string; repo_url: string };

/**
 * Two bounded plans: the head of the queue (cheap, the common case), then, when busy repos fill
 * the whole head (a big backlog on one repo), each queued repo's best task through an index: the
 * cost depends on the number of repos with work, never on how many tasks wait behind a busy one.
 */
export async function nextCandidate(
  tx: Tx,
  agentTypes: readonly string[],
  skipped: readonly string[],
): Promise<Candidate | null> {
  const [fromHead] = await tx.$queryRaw<Candidate[]>`
    WITH busy AS (
      SELECT repo_url, count(*)::int AS active FROM tasks
       WHERE state IN ('provisioning', 'running') GROUP BY repo_url),
    head AS (
      SELECT t.id, t.repo_url, t.priority, t.position, t.created_at FROM tasks t
       WHERE t.state = 'queued'
         AND t.agent_type = ANY(${agentTypes}::text[])
         AND NOT (t.id = ANY(${skipped}::uuid[]))
       ORDER BY t.priority, t.position, t.created_at
       LIMIT ${HEAD})
    SELECT h.id, h.repo_url FROM head h
      LEFT JOIN busy b ON b.repo_url = h.repo_url
      LEFT JOIN repos r ON r.repo_url = h.repo_url
     WHERE COALESCE(b.active, 0) < COALESCE(r.max_concurrent_tasks, ${DEFAULT_MAX_CONCURRENT})
     ORDER BY h.priority, h.position, h.created_at
     LIMIT 1`;
  if (fromHead) return fromHead;

  const [perRepo] = await tx.$queryRaw<Candidate[]>`
    WITH RECURSIVE queued_repos(repo_url) AS (
      (SELECT repo_url FROM tasks WHERE state = 'queued' ORDER BY repo_url LIMIT 1)
      UNION ALL
      SELECT (SELECT t.repo_url FROM tasks t
               WHERE t.state = 'queued' AND t.repo_url > q.repo_url ORDER BY t.repo_url LIMIT 1)
        FROM queued_repos q WHERE q.repo_url IS NOT NULL),
    busy AS (
      SELECT repo_url, count(*)::int AS active FROM tasks
       WHERE state IN ('provisioning', 'running') GROUP BY repo_url)
    SELECT best.id, best.repo_url FROM queued_repos q
      LEFT JOIN busy b ON b.repo_url = q.repo_url
      LEFT JOIN repos r ON r.repo_url = q.repo_url
      CROSS JOIN LATERAL (
        SELECT t.id, t.repo_url, t.priority, t.position, t.created_at FROM tasks t
         WHERE t.state = 'queued' AND t.repo_url = q.repo_url
           AND t.agent_type = ANY(${agentTypes}::text[])
           AND NOT (t.id = ANY(${skipped}::uuid[]))
         ORDER BY t.priority, t.position, t.created_at
         LIMIT 1) best
     WHERE q.repo_url IS NOT NULL
       AND COALESCE(b.active, 0) < COALESCE(r.max_concurrent_tasks, ${DEFAULT_MAX_CONCURRENT})
     ORDER BY best.priority, best.position, best.created_at
     LIMIT 1`;
  return perRepo ?? null;
}

/** Locks a candidate that is still queued; null when another claim holds or took it. */
export async function lockCandidate(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM tasks WHERE id = ${id}::uuid AND state = 'queued' FOR UPDATE SKIP LOCKED`;
  return rows.length > 0;
}
