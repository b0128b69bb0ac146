/**
 * Jobmon's run semantics and a readable bind (issue 17):
 *
 * - `workflow.working_dir`: the control script's working directory, recorded at bind. Jobmon's jobs
 *   run where the script ran (the distributor is started from it), so `python model.py` finds
 *   `model.py` there; the wrapper runs each command in this directory.
 * - `array_.working_dir`: a template's own directory for this workflow, overriding the workflow's.
 * - `task.key`: the key the control script gave the task in the bind request, so the task list and
 *   the bind answer can say which stored task is which of the script's tasks.
 *
 * All nullable: workflows bound before this migration (or by clients that send none) keep running
 * commands in the worker's directory, as before.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table workflow add column working_dir text;
    alter table array_ add column working_dir text;
    alter table task add column key text;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table task drop column key;
    alter table array_ drop column working_dir;
    alter table workflow drop column working_dir;
  `.execute(db);
}
