/**
 * Where a task instance's command runs and logs (issue 17, Jobmon's run semantics): the template's
 * working directory in this workflow, else the workflow's (the control script's directory at
 * bind), and the `stdout` / `stderr` log directories of the resources the instance was submitted
 * with. One indexed lookup, read inside the running report's transaction.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema';

export interface RunPlace {
  /** Absolute directory to run the command in; null = the wrapper's own (workflows bound before 0017). */
  workingDir: string | null;
  /** Jobmon's `stdout` / `stderr` compute resources: directories for the instance's log files. */
  stdoutDir: string | null;
  stderrDir: string | null;
}

export async function runPlaceOf(
  db: Kysely<Database> | Transaction<Database>,
  taskInstanceId: number,
): Promise<RunPlace> {
  const { rows } = await sql<{ working_dir: string | null; stdout_dir: string | null; stderr_dir: string | null }>`
    select coalesce(a.working_dir, w.working_dir) as working_dir,
           nullif(r.requested_resources->>'stdout', '') as stdout_dir,
           nullif(r.requested_resources->>'stderr', '') as stderr_dir
      from task_instance i
      join array_ a on a.id = i.array_id
      join workflow w on w.id = i.workflow_id
      join task_resources r on r.id = i.task_resources_id
     where i.id = ${taskInstanceId}`.execute(db);
  const row = rows[0];
  return {
    workingDir: row?.working_dir ?? null,
    stdoutDir: row?.stdout_dir ?? null,
    stderrDir: row?.stderr_dir ?? null,
  };
}
