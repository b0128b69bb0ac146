/**
 * Task counts kept, not counted (issue 18): `task_status_count` holds, per workflow, array (= the
 * workflow's template), status and readiness (G/A with every upstream done), how many tasks are
 * there, so a status or progress read of a million-task workflow sums a few dozen rows instead of
 * counting a million index entries.
 *
 * - Every UPDATE of `task` (status changes, releases of downstream tasks, resets, bind's own
 *   update) is counted by one statement-level trigger over its transition tables: −1 per old row,
 *   +1 per new row, grouped; rows whose status and readiness did not change cancel out. So the
 *   counts change in the same transaction as the statuses, whichever code path writes them.
 * - The counts are deltas appended by each statement (no counter row is ever updated, so writers
 *   never wait on one another); a reader sums them, and folds them into one row per key now and
 *   then (sql/status-counts.ts), so the number of rows per workflow stays small.
 * - Tasks are only ever inserted by bind, which inserts their counts in the same statement
 *   (sql/bind-rows.ts): an INSERT trigger would copy every inserted row into a transition table.
 *   Nothing deletes tasks.
 * - Backfilled from the tasks already stored.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table task_status_count (
      workflow_id int not null,
      array_id int not null,
      status char(1) not null,
      ready boolean not null,
      n bigint not null
    );
    create index task_status_count_workflow on task_status_count (workflow_id);

    insert into task_status_count (workflow_id, array_id, status, ready, n)
    select workflow_id, array_id, status, status in ('G','A') and upstream_remaining = 0, count(*)
      from task group by 1, 2, 3, 4;

    create function task_status_count_update() returns trigger language plpgsql as $$
    begin
      insert into task_status_count (workflow_id, array_id, status, ready, n)
      select workflow_id, array_id, status, ready, sum(d)
        from (select workflow_id, array_id, status, status in ('G','A') and upstream_remaining = 0 as ready, -1 as d
                from old_tasks
              union all
              select workflow_id, array_id, status, status in ('G','A') and upstream_remaining = 0, 1
                from new_tasks) c
       group by 1, 2, 3, 4
      having sum(d) <> 0;
      return null;
    end $$;
    create trigger task_status_count_update after update on task
      referencing old table as old_tasks new table as new_tasks
      for each statement execute function task_status_count_update();
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop trigger task_status_count_update on task;
    drop function task_status_count_update();
    drop table task_status_count;
  `.execute(db);
}
