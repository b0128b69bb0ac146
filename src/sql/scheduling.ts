/**
 * The scheduler's half that lives in Postgres: which tasks are ready, how many may start under the
 * workflow's and each array's concurrency limits, and the batches they go out in.
 *
 * Ready = status G or A with every upstream DONE (`upstream_remaining = 0`, kept by
 * releaseDownstream), an indexed lookup at any DAG size. One call creates the TaskInstances, the
 * batch rows and the task transitions in one transaction under a lock on the workflow row, so a
 * retried or concurrent call can never queue a task twice.
 */
import { sql, type Kysely } from 'kysely';
import type { Db, Tx } from './db';
import type { Database } from './schema';
import { byStatus, statusCounts } from './status-counts';
import { IN_FLIGHT_TASK_STATUSES, type TaskStatus } from '../domain/statuses';
import { lockWorkflow } from './workflow-lock';

/** Jobmon's Scheduler.MAX_BATCH_SIZE: one distributor array per ≤ 500 tasks of one template × resources. */
export const MAX_BATCH_SIZE = 500;
/** Upper bound of tasks queued by one call, so one activity stays short and its transaction small. */
export const MAX_TASKS_PER_SCHEDULE = 20_000;

export interface TaskCounts {
  byStatus: Partial<Record<TaskStatus, number>>;
  total: number;
  inFlight: number;
  /** Ready but not queued: held back by a limit, by maxBatches, or by MAX_TASKS_PER_SCHEDULE. */
  readyWaiting: number;
}

export interface ScheduleResult {
  /** Batches created by this call. */
  newBatchIds: number[];
  /** Batches of this run created earlier but never submitted (e.g. an earlier attempt's result was lost). */
  unsubmittedBatchIds: number[];
  counts: TaskCounts;
}

export interface ScheduleOptions {
  workflowRunId: number;
  /** Most batches this call may create (the workflow's room for more monitor activities). */
  maxBatches: number;
  batchSize?: number;
  maxTasks?: number;
}

// Long: one transaction (lock the workflow, pick ready tasks within limits, create and queue batches) whose steps share its locks.
export async function scheduleReadyTasks(db: Db, options: ScheduleOptions): Promise<ScheduleResult> {
  const batchSize = options.batchSize ?? MAX_BATCH_SIZE;
  const maxTasks = Math.min(options.maxTasks ?? MAX_TASKS_PER_SCHEDULE, options.maxBatches * batchSize);
  return db.transaction().execute(async (tx) => {
    const run = await tx
      .selectFrom('workflow_run')
      .select(['id', 'workflow_id', 'status'])
      .where('id', '=', options.workflowRunId)
      .executeTakeFirstOrThrow();
    const workflow = await lockWorkflow(tx, run.workflow_id);

    const newBatchIds: number[] = [];
    if (maxTasks > 0 && (run.status === 'R' || run.status === 'B')) {
      const inFlightByArray = await tx
        .selectFrom('task')
        .select(['array_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('workflow_id', '=', workflow.id)
        .where('status', 'in', IN_FLIGHT_TASK_STATUSES)
        .groupBy('array_id')
        .execute();
      const arrays = await tx
        .selectFrom('array_')
        .select(['id', 'max_concurrently_running'])
        .where('workflow_id', '=', workflow.id)
        .execute();
      const inFlight = new Map(inFlightByArray.map((r) => [r.array_id, Number(r.n)]));
      const arrayRoom = new Map(arrays.map((a) => [a.id, a.max_concurrently_running - (inFlight.get(a.id) ?? 0)]));
      let workflowRoom = workflow.max_concurrently_running - [...inFlight.values()].reduce((a, b) => a + b, 0);

      if (workflowRoom > 0) {
        // Resource retries first, as Jobmon puts them at the front of the queue; then bind order.
        // One query per status, each an ordered scan of task_ready_order that stops after `limit`
        // rows: a single query ordered by (status = 'A', id) had to read and sort every ready task.
        const limit = Math.min(maxTasks, workflowRoom);
        const retries = await readyTasks(tx, workflow.id, 'A', limit);
        const ready = retries.concat(
          retries.length < limit ? await readyTasks(tx, workflow.id, 'G', limit - retries.length) : [],
        );

        const groups = new Map<string, { arrayId: number; resourcesId: number; cluster: string; taskIds: number[] }>();
        for (const t of ready) {
          if (workflowRoom <= 0) break;
          const room = arrayRoom.get(t.array_id) ?? 0;
          if (room <= 0) continue;
          arrayRoom.set(t.array_id, room - 1);
          workflowRoom -= 1;
          const key = `${t.array_id}/${t.task_resources_id}`;
          let group = groups.get(key);
          if (!group) {
            group = {
              arrayId: t.array_id,
              resourcesId: Number(t.task_resources_id),
              cluster: t.cluster_name,
              taskIds: [],
            };
            groups.set(key, group);
          }
          group.taskIds.push(Number(t.id));
        }

        const batches: { arrayId: number; resourcesId: number; cluster: string; taskIds: number[] }[] = [];
        for (const g of groups.values()) {
          for (let i = 0; i < g.taskIds.length && batches.length < options.maxBatches; i += batchSize) {
            batches.push({ ...g, taskIds: g.taskIds.slice(i, i + batchSize) });
          }
        }
        if (batches.length > 0) {
          const inserted = await tx
            .insertInto('task_batch')
            .values(
              batches.map((b) => ({
                workflow_run_id: run.id,
                workflow_id: workflow.id,
                array_id: b.arrayId,
                task_resources_id: b.resourcesId,
                cluster_name: b.cluster,
                size: b.taskIds.length,
                status: 'Q' as const,
              })),
            )
            .returning('id')
            .execute();
          const tiBatch: number[] = [];
          const tiTask: number[] = [];
          const tiStep: number[] = [];
          const tiArray: number[] = [];
          const tiResources: number[] = [];
          batches.forEach((b, i) => {
            const batchId = Number(inserted[i].id);
            newBatchIds.push(batchId);
            b.taskIds.forEach((taskId, step) => {
              tiBatch.push(batchId);
              tiTask.push(taskId);
              tiStep.push(step + 1);
              tiArray.push(b.arrayId);
              tiResources.push(b.resourcesId);
            });
          });
          await sql`
            insert into task_instance (workflow_run_id, workflow_id, task_id, array_id, batch_id, array_step_id, task_resources_id, status)
            select ${run.id}, ${workflow.id}, u.task_id, u.array_id, u.batch_id, u.step, u.resources_id, 'Q'
              from unnest(${tiTask}::bigint[], ${tiArray}::int[], ${tiBatch}::bigint[], ${tiStep}::int[], ${tiResources}::bigint[])
                   as u(task_id, array_id, batch_id, step, resources_id)`.execute(tx);
          // Jobmon counts an attempt when a task is queued (G/A → Q).
          const queued = await sql`
            update task set status = 'Q', status_date = now(), num_attempts = num_attempts + 1
             where id = any(${tiTask}::bigint[]) and status in ('G','A')`.execute(tx);
          if (Number(queued.numAffectedRows) !== tiTask.length) {
            throw new Error(`scheduling race: queued ${queued.numAffectedRows} of ${tiTask.length} tasks; retrying`);
          }
        }
      }
    }

    const unsubmitted = await tx
      .selectFrom('task_batch')
      .select('id')
      .where('workflow_run_id', '=', run.id)
      .where('status', '=', 'Q')
      .execute();
    const counts = await countTasks(tx, workflow.id);
    return {
      newBatchIds,
      unsubmittedBatchIds: unsubmitted.map((b) => Number(b.id)).filter((id) => !newBatchIds.includes(id)),
      counts,
    };
  });
}

interface ReadyTask {
  id: number;
  array_id: number;
  task_resources_id: number;
  cluster_name: string;
}

/** The first `limit` ready tasks of one status, in bind (id) order. */
async function readyTasks(tx: Tx, workflowId: number, status: 'A' | 'G', limit: number) {
  const { rows } = await sql<ReadyTask>`
    select t.id, t.array_id, t.task_resources_id, r.cluster_name
      from task t join task_resources r on r.id = t.task_resources_id
     where t.workflow_id = ${workflowId} and t.status = ${status} and t.upstream_remaining = 0
       -- Never queue a task while an earlier instance of it may still be alive (a cold
       -- resume's kill not yet landed, a hot resume's adopted job): no task runs twice at once.
       and not exists (select 1 from task_instance ti
                        where ti.task_id = t.id and ti.status in ('Q','I','O','R','K','T'))
     order by t.id
     limit ${limit}`.execute(tx);
  return rows;
}

/** The workflow's counts as this transaction sees them, from the kept counters (status-counts.ts). */
export async function countTasks(db: Kysely<Database>, workflowId: number): Promise<TaskCounts> {
  const { byStatus: counts, ready } = byStatus(await statusCounts(db, workflowId, false));
  let total = 0;
  let inFlight = 0;
  for (const [status, n] of Object.entries(counts)) {
    total += n;
    if ((IN_FLIGHT_TASK_STATUSES as readonly string[]).includes(status)) inFlight += n;
  }
  return { byStatus: counts, total, inFlight, readyWaiting: ready };
}

/**
 * Whether the run's scheduler would act now: a task is ready to queue, or no task is in flight
 * (the run may be finished or blocked). Two indexed existence checks, cheap enough per report.
 */
export async function runHasWork(db: Db, workflowId: number): Promise<boolean> {
  // The one definition is the SQL function (migration 0020): the final reports ask it too.
  const { rows } = await sql<{ has_work: boolean }>`select jmt_run_has_work(${workflowId}) as has_work`.execute(db);
  return rows[0].has_work;
}
