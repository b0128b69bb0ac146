/**
 * Index review at a million tasks (issue 18, docs/benchmarks.md "Scale"): every index on `task` is
 * written once per task at bind and again on every status change, so one that nothing reads costs
 * bind time and disk for nothing.
 *
 * - `task_array (array_id, status)` goes: it served the per-template counts of status, progress and
 *   the template DAG, which now read the kept counters (migration 0019); the one remaining lookup by
 *   array (a template's requested runtime, `limit 1`) uses `task_array_node_args`.
 * - `task_ready (workflow_id, array_id, task_resources_id)` goes: the scheduler reads ready tasks
 *   through `task_ready_order` (migration 0011), and the "is anything ready" check is answered by
 *   the same partial index.
 * - `task_retried (workflow_id) where num_attempts >= 2`: progress's "tasks near their last attempt"
 *   otherwise read every unfinished task of the workflow (900,000 at a million) to find a handful.
 *
 * Named 0019_y so it sorts after 0019_task_status_counts (this helper's number range is 0018–0019).
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    drop index task_array;
    drop index task_ready;
    create index task_retried on task (workflow_id) where num_attempts >= 2;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index task_retried;
    create index task_ready on task (workflow_id, array_id, task_resources_id)
      where status in ('G','A') and upstream_remaining = 0;
    create index task_array on task (array_id, status);
  `.execute(db);
}
