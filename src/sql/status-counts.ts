/**
 * A workflow's task counts by array (= template), status and readiness, from `task_status_count`
 * (migration 0019: deltas written by a trigger in the same transactions as the statuses), so no
 * read counts a million rows. `statusCounts` sums the deltas; when they have piled up it folds
 * them into one row per key (`compact`), under a per-workflow advisory lock that nobody waits for.
 */
import { sql, type Kysely } from 'kysely';
import type { TaskStatus } from '../domain/statuses';
import type { Database } from './schema';

export interface ArrayStatusCount {
  array_id: number;
  status: TaskStatus;
  /** G or A with every upstream DONE: what the scheduler may queue next. */
  ready: boolean;
  n: number;
}

/** Fold when a workflow has this many more delta rows than keys. */
const COMPACT_SLACK = 64;

/**
 * The counts of one workflow. Inside a transaction (`compactAfter` false) the sum includes that
 * transaction's own changes; outside, a reader also compacts when the deltas have piled up.
 */
export async function statusCounts(
  db: Kysely<Database>,
  workflowId: number,
  compactAfter = true,
): Promise<ArrayStatusCount[]> {
  const { rows } = await sql<{ array_id: number; status: TaskStatus; ready: boolean; n: string; parts: number }>`
    select array_id, status, ready, sum(n) as n, count(*)::int as parts
      from task_status_count where workflow_id = ${workflowId}
     group by 1, 2, 3`.execute(db);
  const parts = rows.reduce((p, r) => p + r.parts, 0);
  if (compactAfter && parts > rows.length + COMPACT_SLACK) await compact(db, workflowId);
  return rows
    .filter((r) => Number(r.n) !== 0)
    .map((r) => ({ array_id: r.array_id, status: r.status, ready: r.ready, n: Number(r.n) }));
}

/**
 * One statement: take the lock if free, delete the workflow's deltas and insert their sums. A
 * delta committed meanwhile is not in this statement's snapshot, so it stays and is summed next
 * time; a concurrent compaction cannot take the same rows (the lock), so nothing counts twice.
 */
async function compact(db: Kysely<Database>, workflowId: number): Promise<void> {
  await sql`
    with lock as (select pg_try_advisory_xact_lock(hashtext('task_status_count'), ${workflowId}::int) as got),
    gone as (
      delete from task_status_count c using lock
       where lock.got and c.workflow_id = ${workflowId}::int
      returning c.array_id, c.status, c.ready, c.n)
    insert into task_status_count (workflow_id, array_id, status, ready, n)
    select ${workflowId}::int, array_id, status, ready, sum(n) from gone
     group by 1, 2, 3, 4 having sum(n) <> 0`.execute(db);
}

/** Sum over arrays: per status, and how many tasks are ready. */
export function byStatus(counts: readonly ArrayStatusCount[]): {
  byStatus: Partial<Record<TaskStatus, number>>;
  ready: number;
} {
  const out: Partial<Record<TaskStatus, number>> = {};
  let ready = 0;
  for (const c of counts) {
    out[c.status] = (out[c.status] ?? 0) + c.n;
    if (c.ready) ready += c.n;
  }
  return { byStatus: out, ready };
}
