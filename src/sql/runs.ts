/**
 * WorkflowRun lifecycle in the projection: create (with Jobmon's resume semantics), started,
 * finished, and the kill of live instances. The Temporal side of the same operations is in
 * src/control/runs.ts (client) and src/workflows (the run itself).
 */
import { sql } from 'kysely';
import type { Db, Tx } from './db';
import { adjustTaskResources } from './resource-adjustment';
import { conflict, invalid, notFound } from '../domain/errors';
import { ACTIVE_WORKFLOW_RUN_STATUSES, type WorkflowRunStatus, type WorkflowStatus } from '../domain/statuses';
import { lockWorkflow } from './workflow-lock';

export const JOBMON_VERSION = '0.1.0';

export interface ActiveRun {
  id: number;
  status: WorkflowRunStatus;
  temporal_workflow_id: string;
  /** Null until the Temporal execution has been started (or when its starter died before that). */
  temporal_run_id: string | null;
  /** Seconds since the run row was created, by the database's clock (API hosts' clocks may differ). */
  age_s: number;
}

/** The workflow's active run, if any (there is at most one). Pass a transaction to read under its locks. */
export async function findActiveRun(db: Pick<Db, 'selectFrom'>, workflowId: number): Promise<ActiveRun | undefined> {
  const run = await db
    .selectFrom('workflow_run')
    .select(['id', 'status', 'temporal_workflow_id', 'temporal_run_id'])
    .select(sql<number>`extract(epoch from now() - created_date)`.as('age_s'))
    .where('workflow_id', '=', workflowId)
    .where('status', 'in', ACTIVE_WORKFLOW_RUN_STATUSES)
    .executeTakeFirst();
  return run && { ...run, age_s: Number(run.age_s) };
}

/** Whether the workflow has had a run: its first run is a start, any later one a resume (Jobmon's words). */
export async function hasRun(db: Db, workflowId: number): Promise<boolean> {
  const row = await db
    .selectFrom('workflow_run')
    .select('id')
    .where('workflow_id', '=', workflowId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface CreateRunOptions {
  user: string;
  resumeMode: 'hot' | 'cold';
  temporalWorkflowId: string;
  /**
   * Scale the resources of tasks whose last attempt failed for resources (instance Z) before their
   * fresh attempt budget, as Jobmon's CLI resume does unless `--keep-resources`.
   */
  increaseResources?: boolean;
}

/**
 * A new run of a bound workflow. DONE tasks never run again; every other task gets a fresh attempt
 * budget. Cold: live instances of earlier runs are marked KILL_SELF here (their jobs are terminated
 * by the run's first activity) and their tasks reset; hot: tasks whose job is still alive keep
 * their status and the new run adopts their batches.
 */
export async function createRun(db: Db, workflowId: number, options: CreateRunOptions): Promise<number> {
  return withNewRun(db, workflowId, options, async (_tx, run) => run.runId);
}

/** A new run's id and the tasks whose resources it scaled. */
export interface NewRun {
  runId: number;
  resourcesIncreased: number[];
}

/**
 * Create the run as `createRun` does, then call `start` in the same transaction and commit only
 * if it succeeds: a start that Temporal refuses rolls back the run row and every reset with it,
 * so the refused request has written nothing. The run's first activity (`markRunStarted`) waits
 * for this commit on the run's start lock, so it never looks for a row not yet visible.
 */
export async function withNewRun<T>(
  db: Db,
  workflowId: number,
  options: CreateRunOptions,
  start: (tx: Tx, run: NewRun) => Promise<T>,
): Promise<T> {
  try {
    return await db.transaction().execute(async (tx) => {
      const run = await createRunIn(tx, workflowId, options);
      await sql`select pg_advisory_xact_lock(${runStartLock(run.runId)})`.execute(tx);
      return start(tx, run);
    });
  } catch (err) {
    // The partial unique index is the last line of defence against two concurrent resumes.
    if ((err as { code?: string }).code === '23505') {
      throw conflict(`workflow ${workflowId} already has an active run`, 'run_active');
    }
    throw err;
  }
}

/** The advisory lock key a run's creator holds until its transaction ends. */
const runStartLock = (runId: number) => sql`hashtextextended(${`run-start:${runId}`}, 0)`;

async function createRunIn(tx: Tx, workflowId: number, options: CreateRunOptions): Promise<NewRun> {
  await lockWorkflow(tx, workflowId);
  const active = await findActiveRun(tx, workflowId);
  if (active) {
    throw conflict(
      `workflow ${workflowId} already has an active run (${active.id}, status ${active.status}); stop it first (\`jmt workflow stop ${workflowId}\`, --kill to kill its jobs) and resume once it has ended`,
      'run_active',
    );
  }
  const notDone = await tx
    .selectFrom('task')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workflow_id', '=', workflowId)
    .where('status', '<>', 'D')
    .executeTakeFirstOrThrow();
  if (Number(notDone.n) === 0) {
    throw conflict(`workflow ${workflowId} is already DONE: every task finished`, 'workflow_done');
  }
  const run = await tx
    .insertInto('workflow_run')
    .values({
      workflow_id: workflowId,
      user: options.user,
      jobmon_version: JOBMON_VERSION,
      status: 'B',
      resume_mode: options.resumeMode,
      temporal_workflow_id: options.temporalWorkflowId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  // Before the reset below: the scale of a list-valued resource_scales depends on the attempt.
  const resourcesIncreased = options.increaseResources
    ? await increaseResourcesAfterResourceErrors(tx, workflowId)
    : [];
  if (options.resumeMode === 'cold') {
    await sql`
      update task_instance set status = 'K', status_date = now()
       where workflow_id = ${workflowId} and status in ('Q','I','O','R','T')`.execute(tx);
  }
  // Tasks already G with no attempts (every task of a first run) are left as they are:
  // rewriting a million rows to the values they hold cost a first run tens of seconds.
  await sql`
    update task t set status = 'G', num_attempts = 0, status_date = now()
     where t.workflow_id = ${workflowId} and t.status <> 'D'
       and (t.status <> 'G' or t.num_attempts <> 0)
       and (${options.resumeMode} = 'cold' or not exists (
             select 1 from task_instance ti where ti.task_id = t.id and ti.status in ('Q','I','O','R','T')))`.execute(
    tx,
  );
  await tx
    .updateTable('workflow')
    .set({ status: 'Q', status_date: sql`now()` })
    .where('id', '=', workflowId)
    .execute();
  return { runId: run.id, resourcesIncreased };
}

/**
 * Jobmon's `increase_resources` (server route used by `jobmon workflow resume` by default): tasks
 * that ended failed (E/F) and whose latest instance died of a resource error (Z) get a new
 * task_resources row scaled by their resource_scales (and a fallback queue if needed). Tasks in A
 * were already scaled when they entered A. Returns the ids of the tasks scaled.
 */
export async function increaseResourcesAfterResourceErrors(tx: Tx, workflowId: number): Promise<number[]> {
  const rows = await sql<{ id: number; num_attempts: number }>`
    select t.id, t.num_attempts from task t
     where t.workflow_id = ${workflowId} and t.status in ('E','F')
       and (select ti.status from task_instance ti where ti.task_id = t.id order by ti.id desc limit 1) = 'Z'
     order by t.id`.execute(tx);
  for (const row of rows.rows) await adjustTaskResources(tx, Number(row.id), row.num_attempts);
  return rows.rows.map((r) => Number(r.id));
}

export async function setTemporalRunId(db: Db | Tx, runId: number, temporalRunId: string): Promise<void> {
  await db.updateTable('workflow_run').set({ temporal_run_id: temporalRunId }).where('id', '=', runId).execute();
}

/**
 * The run's first activity. Its start lock is held by the request creating the run until that
 * request has started the Temporal execution and committed (withNewRun), so this waits for the row.
 */
export async function markRunStarted(db: Db, runId: number): Promise<{ workflowId: number }> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${runStartLock(runId)})`.execute(tx);
    const run = await tx
      .updateTable('workflow_run')
      .set({ status: 'R', status_date: sql`now()`, heartbeat_date: sql`now()` })
      .where('id', '=', runId)
      .where('status', 'in', ['B', 'I', 'O', 'R'])
      .returning('workflow_id')
      .executeTakeFirst();
    const workflowId =
      run?.workflow_id ??
      (await tx.selectFrom('workflow_run').select('workflow_id').where('id', '=', runId).executeTakeFirstOrThrow())
        .workflow_id;
    await tx
      .updateTable('workflow')
      .set({ status: 'R', status_date: sql`now()` })
      .where('id', '=', workflowId)
      .execute();
    return { workflowId };
  });
}

const WORKFLOW_STATUS_AFTER: Record<'D' | 'E' | 'S', WorkflowStatus> = { D: 'D', E: 'F', S: 'H' };

/**
 * End the run: DONE when every task is DONE, else the status the workflow asked for (E after
 * failures, S after a stop). Idempotent: a finished run keeps its status.
 */
export async function finishRun(db: Db, runId: number, requested: 'E' | 'S'): Promise<WorkflowRunStatus> {
  return db.transaction().execute(async (tx) => {
    const run = await tx
      .selectFrom('workflow_run')
      .select(['workflow_id', 'status'])
      .where('id', '=', runId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (['D', 'E', 'S', 'T', 'A'].includes(run.status)) return run.status;
    const notDone = await tx
      .selectFrom('task')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('workflow_id', '=', run.workflow_id)
      .where('status', '<>', 'D')
      .executeTakeFirstOrThrow();
    const final: 'D' | 'E' | 'S' = Number(notDone.n) === 0 ? 'D' : requested;
    await tx
      .updateTable('workflow_run')
      .set({ status: final, status_date: sql`now()` })
      .where('id', '=', runId)
      .execute();
    await tx
      .updateTable('workflow')
      .set({ status: WORKFLOW_STATUS_AFTER[final], status_date: sql`now()` })
      .where('id', '=', run.workflow_id)
      .execute();
    return final;
  });
}

export interface JobsToKill {
  clusterName: string;
  clusterType: string;
  connectionParameters: Record<string, unknown>;
  distributorIds: string[];
}

/**
 * Mark every live instance of the workflow KILL_SELF (the wrapper sees K on its next heartbeat) and
 * return their jobs by cluster so the caller can also terminate them on the distributor.
 */
export async function markLiveInstancesKilled(db: Db, workflowId: number, taskIds?: number[]): Promise<JobsToKill[]> {
  // taskIds: only these tasks' instances (operator set-status --force); absent: the whole workflow.
  const onlyTasks = taskIds === undefined ? sql`` : sql`and task_id = any(${taskIds}::bigint[])`;
  await sql`
    update task_instance set status = 'K', status_date = now()
     where workflow_id = ${workflowId} and status in ('Q','I','O','R','T') ${onlyTasks}`.execute(db);
  const onlyTasksTi = taskIds === undefined ? sql`` : sql`and ti.task_id = any(${taskIds}::bigint[])`;
  const rows = await sql<{
    cluster_name: string;
    cluster_type: string;
    connection_parameters: Record<string, unknown>;
    ids: string[];
  }>`
    select b.cluster_name, c.cluster_type, c.connection_parameters, array_agg(ti.distributor_id) as ids
      from task_instance ti join task_batch b on b.id = ti.batch_id join cluster c on c.name = b.cluster_name
     where ti.workflow_id = ${workflowId} and ti.status = 'K' and ti.distributor_id is not null ${onlyTasksTi}
     group by b.cluster_name, c.cluster_type, c.connection_parameters`.execute(db);
  return rows.rows.map((r) => ({
    clusterName: r.cluster_name,
    clusterType: r.cluster_type,
    connectionParameters: r.connection_parameters,
    distributorIds: r.ids,
  }));
}

export async function setConcurrencyLimit(
  db: Db,
  workflowId: number,
  change: { limit: number; template?: string },
): Promise<{ workflow: number; templates: Record<string, number> }> {
  return db.transaction().execute(async (tx) => {
    if (change.template === undefined) {
      const r = await tx
        .updateTable('workflow')
        .set({ max_concurrently_running: change.limit })
        .where('id', '=', workflowId)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('workflow', workflowId);
    } else {
      const r = await sql`
        update array_ a set max_concurrently_running = ${change.limit}
          from task_template_version ttv join task_template tt on tt.id = ttv.task_template_id
         where a.workflow_id = ${workflowId} and ttv.id = a.task_template_version_id and tt.name = ${change.template}`.execute(
        tx,
      );
      if (Number(r.numAffectedRows) === 0) {
        throw invalid(
          'template',
          `workflow ${workflowId} has no task template "${change.template}"`,
          'unknown_template',
        );
      }
    }
    return readConcurrencyLimits(tx, workflowId);
  });
}

export async function readConcurrencyLimits(
  db: Pick<Db, 'selectFrom'>,
  workflowId: number,
): Promise<{ workflow: number; templates: Record<string, number> }> {
  const wf = await db
    .selectFrom('workflow')
    .select('max_concurrently_running')
    .where('id', '=', workflowId)
    .executeTakeFirst();
  if (!wf) throw notFound('workflow', workflowId);
  const arrays = await db
    .selectFrom('array_ as a')
    .innerJoin('task_template_version as ttv', 'ttv.id', 'a.task_template_version_id')
    .innerJoin('task_template as tt', 'tt.id', 'ttv.task_template_id')
    .select(['tt.name', 'a.max_concurrently_running'])
    .where('a.workflow_id', '=', workflowId)
    .execute();
  return {
    workflow: wf.max_concurrently_running,
    templates: Object.fromEntries(arrays.map((a) => [a.name, a.max_concurrently_running])),
  };
}
