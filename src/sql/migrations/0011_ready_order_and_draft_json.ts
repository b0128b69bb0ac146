/**
 * Two changes found by the 1,000,000-task benchmark (docs/benchmarks.md, "Performance fixes"):
 *
 * - `task_ready_order`: ready tasks (G/A with every upstream DONE) by workflow, status and id. The
 *   scheduler takes the first N of them in bind order; with only `task_ready` (by array and
 *   resources) Postgres read and sorted every ready task of the workflow on each pass — 900,000 rows
 *   at the third level of the million-task DAG — to keep 20,000. With this index each pass reads
 *   the N rows it keeps. Partial, like `task_ready`, so tasks leave it as soon as they are queued.
 * - `bind_draft_chunk.tasks` becomes `json`: a draft chunk is written once and read back once, whole,
 *   by commit; `jsonb` paid for parsing into its binary form on the way in and for printing it back
 *   to text on the way out (≈ 32 MB per 100,000 tasks), `json` keeps the text as sent.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create index task_ready_order on task (workflow_id, status, id)
      where status in ('G','A') and upstream_remaining = 0;
    alter table bind_draft_chunk alter column tasks type json using tasks::json;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index task_ready_order;
    alter table bind_draft_chunk alter column tasks type jsonb using tasks::jsonb;
  `.execute(db);
}
