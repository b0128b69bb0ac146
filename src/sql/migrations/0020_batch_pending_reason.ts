/**
 * Why a batch's jobs wait on the cluster (issue 15): the batch system's pending reason (Slurm's
 * `Resources`, `QOSMaxJobsPerUserLimit`, `ReqNodeNotAvail`, ...) as the monitor last read it for
 * the batch's launched jobs, and since when it has said so. Null while nothing of the batch waits.
 * Shown in progress risks and the GUI, so a user sees what the scheduler says without squeue.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table task_batch add column pending_reason text;
    alter table task_batch add column pending_since timestamptz;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table task_batch drop column pending_since;
    alter table task_batch drop column pending_reason;
  `.execute(db);
}
