/**
 * What the batch monitor reads and writes: a batch's submission, its live instances, and the end
 * of the batch. Statuses still change only through the FSM-guarded functions in
 * task-instance-reports.ts, except Q → O at submission, which is guarded in SQL here.
 */
import { sql } from 'kysely';
import type { Db } from './db';
import type { BatchStatus } from './schema';
import type { Resources } from '../domain/resources';
import type { TaskInstanceStatus } from '../domain/statuses';

export interface BatchForSubmission {
  id: number;
  workflowId: number;
  workflowRunId: number;
  status: BatchStatus;
  clusterName: string;
  clusterType: string;
  connectionParameters: Record<string, unknown>;
  templateName: string;
  arrayLimit: number;
  resources: Resources;
  /** Where the batch's commands run (the template's working directory, else the workflow's). */
  workingDir?: string;
  toSubmit: { taskInstanceId: number; arrayStepId: number; taskName: string }[];
}

export async function loadBatch(db: Db, batchId: number): Promise<BatchForSubmission | undefined> {
  const batch = await db
    .selectFrom('task_batch as b')
    .innerJoin('task_resources as r', 'r.id', 'b.task_resources_id')
    .innerJoin('array_ as a', 'a.id', 'b.array_id')
    .innerJoin('task_template_version as ttv', 'ttv.id', 'a.task_template_version_id')
    .innerJoin('task_template as tt', 'tt.id', 'ttv.task_template_id')
    .innerJoin('cluster as c', 'c.name', 'b.cluster_name')
    .innerJoin('workflow as w', 'w.id', 'b.workflow_id')
    .select([
      sql<string | null>`coalesce(a.working_dir, w.working_dir)`.as('working_dir'),
      'b.id',
      'b.workflow_id',
      'b.workflow_run_id',
      'b.status',
      'b.cluster_name',
      'c.cluster_type',
      'c.connection_parameters',
      'tt.name as template_name',
      'a.max_concurrently_running',
      'r.requested_resources',
    ])
    .where('b.id', '=', batchId)
    .executeTakeFirst();
  if (!batch) return undefined;
  const toSubmit =
    batch.status === 'Q'
      ? await db
          .selectFrom('task_instance as ti')
          .innerJoin('task as t', 't.id', 'ti.task_id')
          .select(['ti.id', 'ti.array_step_id', 't.name'])
          .where('ti.batch_id', '=', batchId)
          .where('ti.status', '=', 'Q')
          .orderBy('ti.array_step_id')
          .execute()
      : [];
  return {
    id: Number(batch.id),
    workflowId: batch.workflow_id,
    workflowRunId: batch.workflow_run_id,
    status: batch.status,
    clusterName: batch.cluster_name,
    clusterType: batch.cluster_type,
    connectionParameters: batch.connection_parameters,
    templateName: batch.template_name,
    arrayLimit: batch.max_concurrently_running,
    resources: batch.requested_resources as Resources,
    workingDir: batch.working_dir ?? undefined,
    toSubmit: toSubmit.map((t) => ({ taskInstanceId: Number(t.id), arrayStepId: t.array_step_id, taskName: t.name })),
  };
}

/**
 * Record what the distributor accepted: Q → O with the job id and a first report-by deadline.
 * Instances the dummy distributor already completed, or a fast wrapper already moved on, are left
 * as they are (the WHERE keeps only Q).
 */
export async function recordSubmission(
  db: Db,
  batchId: number,
  distributorIds: Map<number, string>,
  arrayId: string | undefined,
  reportBySeconds: number,
): Promise<void> {
  const ids = [...distributorIds.keys()];
  const jobIds = ids.map((id) => distributorIds.get(id) as string);
  await db.transaction().execute(async (tx) => {
    if (ids.length > 0) {
      await sql`
        update task_instance ti
           set status = case when ti.status = 'Q' then 'O' else ti.status end,
               distributor_id = coalesce(ti.distributor_id, u.job_id),
               submitted_date = now(),
               report_by_date = case when ti.status = 'Q' then now() + make_interval(secs => ${reportBySeconds}) else ti.report_by_date end,
               status_date = case when ti.status = 'Q' then now() else ti.status_date end
          from unnest(${ids}::bigint[], ${jobIds}::text[]) as u(id, job_id)
         where ti.id = u.id`.execute(tx);
      await sql`
        update task t set status = 'O', status_date = now()
          from task_instance ti
         where ti.id = any(${ids}::bigint[]) and ti.status = 'O' and t.id = ti.task_id and t.status in ('Q','I')`.execute(
        tx,
      );
    }
    await tx
      .updateTable('task_batch')
      .set({ status: 'S', submitted_date: sql`now()`, distributor_array_id: arrayId ?? null })
      .where('id', '=', batchId)
      .where('status', '=', 'Q')
      .execute();
  });
}

export interface LiveInstance {
  id: number;
  status: TaskInstanceStatus;
  distributorId: string | null;
  overdue: boolean;
}

/** Instances of the batch whose job may still be alive, and whether each missed its report-by. */
export async function liveInstances(db: Db, batchId: number): Promise<LiveInstance[]> {
  const rows = await sql<{ id: number; status: TaskInstanceStatus; distributor_id: string | null; overdue: boolean }>`
    select id, status, distributor_id, coalesce(report_by_date < now(), false) as overdue
      from task_instance
     where batch_id = ${batchId} and status in ('Q','I','O','R','K','T')`.execute(db);
  return rows.rows.map((r) => ({
    id: Number(r.id),
    status: r.status,
    distributorId: r.distributor_id,
    overdue: r.overdue,
  }));
}

/** The distributor vouches for these jobs (still queued or running): give them more time. */
export async function extendReportBy(db: Db, ids: number[], seconds: number): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    update task_instance set report_by_date = now() + make_interval(secs => ${seconds})
     where id = any(${ids}::bigint[]) and status in ('O','R','T','K')`.execute(db);
}

/**
 * What the batch system says the batch's launched jobs wait for (null: nothing waits); the date is
 * kept while the reason stays the same.
 */
export async function recordPendingReason(db: Db, batchId: number, reason: string | null): Promise<void> {
  await sql`
    update task_batch
       set pending_since = case when ${reason}::text is null then null
                                when pending_reason is distinct from ${reason}::text then now()
                                else pending_since end,
           pending_reason = ${reason}::text
     where id = ${batchId}`.execute(db);
}

export async function finishBatch(db: Db, batchId: number): Promise<{ done: number; failed: number }> {
  await db
    .updateTable('task_batch')
    .set({ status: 'D', finished_date: sql`now()`, pending_reason: null, pending_since: null })
    .where('id', '=', batchId)
    .where('status', '<>', 'D')
    .execute();
  const rows = await db
    .selectFrom('task_instance')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('batch_id', '=', batchId)
    .groupBy('status')
    .execute();
  let done = 0;
  let failed = 0;
  for (const r of rows) {
    if (r.status === 'D') done += Number(r.n);
    else failed += Number(r.n);
  }
  return { done, failed };
}

/** Batches of any run of this workflow that are not finished: the new run (or a continued one) adopts them. */
export async function activeBatchIds(db: Db, workflowId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('task_batch')
    .select('id')
    .where('workflow_id', '=', workflowId)
    .where('status', '<>', 'D')
    .orderBy('id')
    .execute();
  return rows.map((r) => Number(r.id));
}
