/**
 * Cheaper task inserts at bind (issues 13 and 18: Postgres CPU during a commit), measured at
 * 100,000 tasks by inserting one workflow's rows again into a copy of `task` (docs/benchmarks.md,
 * "Bind"): of ~1.3 s, the rows alone took 0.2 s and each index on a 64-hex-digit hash ~0.45 s.
 *
 * - `unique (workflow_id, task_hash)` goes. Nothing reads it but a resume's update, which joins the
 *   workflow's tasks to the draft's by hash (a hash join over one workflow's rows, as the other
 *   joins of a bind); and bind, the only writer of tasks, already refuses two tasks of a template
 *   with the same node args (the draft's unique index; commit's check since 0021), which is what
 *   makes task hashes unique within a workflow. It was 146 MB at 1,000,000 tasks.
 * - The hash columns compare bytewise (`collate "C"`): a hash is hex digits, whose order is the same
 *   in every collation, but the database's default (C.UTF-8 here, a libc locale) compares through
 *   strcoll and cannot use abbreviated keys; "C" is a memcmp. The draft's columns get the same
 *   collation, since their values are compared with the task's.
 *
 * Named 0020_s so it sorts after 0020_r_report_functions, which landed first.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table task drop constraint task_workflow_id_task_hash_key;
    alter table task
      alter column task_hash type text collate "C",
      alter column node_args_hash type text collate "C";
    alter table bind_draft_task
      alter column task_hash type text collate "C",
      alter column node_args_hash type text collate "C";
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table bind_draft_task
      alter column task_hash type text collate "default",
      alter column node_args_hash type text collate "default";
    alter table task
      alter column task_hash type text collate "default",
      alter column node_args_hash type text collate "default";
    alter table task add constraint task_workflow_id_task_hash_key unique (workflow_id, task_hash);
  `.execute(db);
}
