/**
 * Operator changes of task statuses (Jobmon's `task update` and `workflow reset`), in Postgres.
 *
 * Invariant kept by every function here: `task.upstream_remaining` = number of upstream edges whose
 * task is not DONE. The scheduler's ready lookup trusts it (src/sql/scheduling.ts), so a task
 * leaving DONE increments its downstream tasks' counters, a task becoming DONE decrements them,
 * and bulk operations recompute the counters of the whole workflow.
 *
 * Concurrency with a running run: the change takes the workflow row lock first, the same lock the
 * scheduler holds while it queues tasks, and refuses tasks that are in flight (unless forced, when
 * the caller has killed their jobs through the run first). Tasks not in flight are changed only by
 * the scheduler or by resume, both under that lock, so the check cannot go stale before the write.
 */
import { sql } from 'kysely';
import { retryOnDeadlock as withRetry, type Db, type Tx } from './db';
import { conflict, invalid } from '../domain/errors';
import type { TaskStatus } from '../domain/statuses';
import { findActiveRun } from './runs';
import { releaseDownstream } from './task-instance-reports';
import { lockWorkflow } from './workflow-lock';

/** Above this many changed tasks a change needs `confirm` (after a dry run showed what it does). */
export const LARGE_CHANGE = 1_000;
/** Task statuses whose job is queued or running: changing them needs `force` (their jobs are killed). */
const RUNNING_TASK_STATUSES = ['Q', 'I', 'O', 'R'] as const;

export interface TaskSelection {
  taskIds?: number[];
  template?: string;
  /** Every pair must match (AND). */
  attributes?: Record<string, string>;
  statuses?: TaskStatus[];
  /** Every pair must match the task's node_args (AND). */
  nodeArgs?: Record<string, string>;
}

export interface StatusChangeRequest {
  selection: TaskSelection;
  status: 'D' | 'G';
  /** G: also downstream (always done, see `planStatusChange`); D: also every upstream not DONE. */
  recursive: boolean;
  force: boolean;
  /** Required when more than LARGE_CHANGE tasks would change. */
  confirm: boolean;
}

export interface ChangePreview {
  /** Tasks matching the selection. */
  selected: number;
  /** Tasks whose status (or attempt count) changes, the selected ones and those added by propagation. */
  changed: number;
  /** Of `changed`, tasks added by propagation (downstream for G, upstream for D with recursive). */
  propagated: number;
  /** Of `changed`, tasks with a queued or running job. */
  running: number;
  /** `changed` per template and current status. */
  by_template: { template: string; status: TaskStatus; n: number }[];
}

export interface Plan extends ChangePreview {
  changedIds: number[];
  runningIds: number[];
  /** Of `changedIds`, those DONE now (their downstream counters go up when they leave DONE). */
  doneIds: number[];
}

/** Tasks matching every criterion of the selection (at least one criterion is required). */
export async function selectTaskIds(tx: Tx | Db, workflowId: number, selection: TaskSelection): Promise<number[]> {
  const criteria =
    (selection.taskIds?.length ?? 0) +
    (selection.template !== undefined ? 1 : 0) +
    Object.keys(selection.attributes ?? {}).length +
    (selection.statuses?.length ?? 0) +
    Object.keys(selection.nodeArgs ?? {}).length;
  // Without a criterion the change would hit every task: that is `workflow reset`, not set-status.
  if (criteria === 0) {
    throw invalid(
      'selection',
      'select tasks by task_ids, template, attributes, status_filter or node_args (reset changes a whole workflow)',
    );
  }
  if (selection.template !== undefined) {
    const found = await sql<{ one: number }>`
      select 1 as one from array_ a
        join task_template_version ttv on ttv.id = a.task_template_version_id
        join task_template tt on tt.id = ttv.task_template_id
       where a.workflow_id = ${workflowId} and tt.name = ${selection.template} limit 1`.execute(tx);
    if (found.rows.length === 0)
      throw invalid(
        'template',
        `workflow ${workflowId} has no task template "${selection.template}"`,
        'unknown_template',
      );
  }
  if (selection.taskIds?.length) {
    const known = await sql<{ id: number }>`
      select id from task where workflow_id = ${workflowId} and id = any(${selection.taskIds}::bigint[])`.execute(tx);
    const have = new Set(known.rows.map((r) => Number(r.id)));
    const missing = selection.taskIds.filter((id) => !have.has(id));
    if (missing.length) {
      throw invalid(
        'task_ids',
        `task${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''} not in workflow ${workflowId}`,
        'unknown_task',
      );
    }
  }
  const conditions = [sql`k.workflow_id = ${workflowId}`];
  if (selection.taskIds?.length) conditions.push(sql`k.id = any(${selection.taskIds}::bigint[])`);
  if (selection.template !== undefined) {
    conditions.push(sql`k.array_id in (select a.id from array_ a
        join task_template_version ttv on ttv.id = a.task_template_version_id
        join task_template tt on tt.id = ttv.task_template_id
       where a.workflow_id = ${workflowId} and tt.name = ${selection.template})`);
  }
  for (const [key, value] of Object.entries(selection.attributes ?? {})) {
    conditions.push(
      sql`exists (select 1 from task_attribute ta where ta.task_id = k.id and ta.key = ${key} and ta.value = ${value})`,
    );
  }
  if (selection.statuses?.length) conditions.push(sql`k.status = any(${selection.statuses}::text[])`);
  for (const [key, value] of Object.entries(selection.nodeArgs ?? {})) {
    conditions.push(sql`k.node_args ->> ${key} = ${value}`);
  }
  const rows = await sql<{
    id: number;
  }>`select k.id from task k where ${sql.join(conditions, sql` and `)} order by k.id`.execute(tx);
  return rows.rows.map((r) => Number(r.id));
}

/** Every task reachable downstream (direction `down`) or upstream (`up`) of `ids`, excluding `ids`. */
async function reachable(tx: Tx | Db, ids: number[], direction: 'down' | 'up'): Promise<number[]> {
  if (ids.length === 0) return [];
  const step =
    direction === 'down'
      ? sql`select d.downstream_task_id from task_dependency d join walk w on d.upstream_task_id = w.id`
      : sql`select d.upstream_task_id from task_dependency d join walk w on d.downstream_task_id = w.id`;
  // UNION (not UNION ALL) drops tasks already reached, so a wide diamond is walked once.
  const rows = await sql<{ id: number }>`
    with recursive walk(id) as (select unnest(${ids}::bigint[]) union ${step})
    select id from walk where not (id = any(${ids}::bigint[]))`.execute(tx);
  return rows.rows.map((r) => Number(r.id));
}

/**
 * What a change would do, without doing it.
 *
 * G (run again) always takes the DONE (and failed) descendants along: their outputs were made from
 * the output being redone, and a DONE task below a not-DONE one would leave the DAG inconsistent.
 * D (mark done) changes only the selected tasks unless `recursive`, which also marks every upstream
 * task not DONE (Jobmon's `-r`); their descendants become ready when nothing else holds them.
 */
export async function planStatusChange(tx: Tx | Db, workflowId: number, request: StatusChangeRequest): Promise<Plan> {
  const selectedIds = await selectTaskIds(tx, workflowId, request.selection);
  const extra =
    request.status === 'G'
      ? await reachable(tx, selectedIds, 'down')
      : request.recursive
        ? await reachable(tx, selectedIds, 'up')
        : [];
  const candidates = [...selectedIds, ...extra];
  const selectedSet = new Set(selectedIds);
  const rows = await sql<{ id: number; status: TaskStatus; template: string; running: boolean }>`
    select k.id, k.status, tt.name as template,
           (k.status = any(${RUNNING_TASK_STATUSES as unknown as string[]}::text[]) or exists (
              select 1 from task_instance ti where ti.task_id = k.id and ti.status in ('Q','I','O','R','T'))) as running
      from task k
      join array_ a on a.id = k.array_id
      join task_template_version ttv on ttv.id = a.task_template_version_id
      join task_template tt on tt.id = ttv.task_template_id
     where k.id = any(${candidates}::bigint[])
       and ${request.status === 'G' ? sql`(k.status <> 'G' or k.num_attempts <> 0)` : sql`k.status <> 'D'`}
     order by k.id`.execute(tx);
  const byTemplate = new Map<string, { template: string; status: TaskStatus; n: number }>();
  const plan: Plan = {
    selected: selectedIds.length,
    changed: rows.rows.length,
    propagated: 0,
    running: 0,
    by_template: [],
    changedIds: [],
    runningIds: [],
    doneIds: [],
  };
  for (const r of rows.rows) {
    const id = Number(r.id);
    plan.changedIds.push(id);
    if (!selectedSet.has(id)) plan.propagated += 1;
    if (r.running) plan.runningIds.push(id);
    if (r.status === 'D') plan.doneIds.push(id);
    const key = `${r.template}\u0000${r.status}`;
    const entry = byTemplate.get(key) ?? { template: r.template, status: r.status, n: 0 };
    entry.n += 1;
    byTemplate.set(key, entry);
  }
  plan.running = plan.runningIds.length;
  plan.by_template = [...byTemplate.values()].sort(
    (a, b) => a.template.localeCompare(b.template) || a.status.localeCompare(b.status),
  );
  return plan;
}

export function describePreview(p: ChangePreview): string {
  const parts = p.by_template.map((t) => `${t.template} ${t.status}→${t.n}`);
  return `${p.changed} task(s) would change (${p.propagated} by propagation${parts.length ? `; ${parts.join(', ')}` : ''})`;
}

export type ApplyResult =
  | { applied: true; plan: Plan; workflowStatus: string }
  /** Forced, but tasks started running that the caller has not killed yet: kill these and call again. */
  | { applied: false; plan: Plan; unkilled: number[] };

/**
 * Apply a change in one transaction. `killed` = tasks whose jobs the caller already killed through
 * the run (force); `hasRun` = a run is active (then a DONE result is left to the run to record).
 */
export async function applyStatusChange(
  db: Db,
  workflowId: number,
  request: StatusChangeRequest,
  options: { killed: ReadonlySet<number>; hasRun: boolean },
): Promise<ApplyResult> {
  return withRetry(() =>
    db.transaction().execute(async (tx) => {
      const wf = await lockWorkflow(tx, workflowId);
      const plan = await planStatusChange(tx, workflowId, request);
      if (plan.running > 0) {
        if (!request.force) {
          throw conflict(
            `${plan.running} of the ${plan.changed} task(s) to change have a queued or running job; wait for them, or force (their jobs are killed first)`,
            'tasks_running',
          );
        }
        const unkilled = plan.runningIds.filter((id) => !options.killed.has(id));
        if (unkilled.length > 0) return { applied: false as const, plan, unkilled };
      }
      if (plan.changed > LARGE_CHANGE && !request.confirm) {
        throw conflict(
          `${describePreview(plan)}: more than ${LARGE_CHANGE}, so confirm it (API: "confirm": true, CLI: --yes) after a dry run`,
          'confirmation_required',
        );
      }
      if (plan.changed === 0) return { applied: true as const, plan, workflowStatus: wf.status };

      await sql`
        update task set status = ${request.status}, status_date = now(),
               num_attempts = ${request.status === 'G' ? sql`0` : sql`num_attempts`}
         where id = any(${plan.changedIds}::bigint[])`.execute(tx);
      if (request.status === 'G') await holdDownstream(tx, plan.doneIds);
      else await releaseDownstream(tx, plan.changedIds);

      let workflowStatus: string = wf.status;
      if (request.status === 'G' && wf.status === 'D') {
        // A DONE workflow with work to do again: HALTED is Jobmon's resumable state.
        workflowStatus = 'H';
      } else if (request.status === 'D' && !options.hasRun) {
        const left = await sql<{
          n: number;
        }>`select count(*)::int as n from task where workflow_id = ${workflowId} and status <> 'D'`.execute(tx);
        if (left.rows[0].n === 0) workflowStatus = 'D';
      }
      if (workflowStatus !== wf.status) {
        await tx
          .updateTable('workflow')
          .set({ status: workflowStatus as 'D' | 'H', status_date: sql`now()` })
          .where('id', '=', workflowId)
          .execute();
      }
      return { applied: true as const, plan, workflowStatus };
    }),
  );
}

/** Increment upstream_remaining of the tasks downstream of tasks leaving DONE (per edge). */
async function holdDownstream(tx: Tx, undoneTaskIds: number[]): Promise<void> {
  if (undoneTaskIds.length === 0) return;
  await sql`
    update task t set upstream_remaining = t.upstream_remaining + c.n
    from (select downstream_task_id as id, count(*)::int as n
            from task_dependency where upstream_task_id = any(${undoneTaskIds}::bigint[])
           group by downstream_task_id) c
    where t.id = c.id`.execute(tx);
}

/**
 * Set every task's upstream_remaining from the statuses of its upstream tasks. For bulk changes
 * (reset) and as the reference the targeted updates are checked against in tests. Returns how many
 * counters were wrong.
 */
export async function recomputeUpstreamRemaining(tx: Tx | Db, workflowId: number): Promise<number> {
  const result = await sql`
    with pending as (
      select d.downstream_task_id as id, count(*)::int as n
        from task u join task_dependency d on d.upstream_task_id = u.id
       where u.workflow_id = ${workflowId} and u.status <> 'D'
       group by d.downstream_task_id)
    update task t set upstream_remaining = coalesce(p.n, 0)
      from task t0 left join pending p on p.id = t0.id
     where t.id = t0.id and t0.workflow_id = ${workflowId} and t.upstream_remaining <> coalesce(p.n, 0)`.execute(tx);
  return Number(result.numAffectedRows ?? 0);
}

export interface ResetResult {
  reset: number;
  keptDone: number;
}

/**
 * Jobmon's `workflow reset`: every task (or every task not DONE with keepDone) back to G with no
 * attempts used, counters recomputed, the workflow REGISTERING. Refused while a run is active.
 */
export async function resetWorkflow(db: Db, workflowId: number, keepDone: boolean): Promise<ResetResult> {
  return withRetry(() =>
    db.transaction().execute(async (tx) => {
      await lockWorkflow(tx, workflowId);
      const active = await findActiveRun(tx, workflowId);
      if (active) {
        throw conflict(
          `workflow ${workflowId} has an active run (${active.id}); stop it first (\`jmt workflow stop ${workflowId}\`) and reset when it has ended`,
          'run_active',
        );
      }
      const changed = await sql`
        update task set status = 'G', num_attempts = 0, status_date = now()
         where workflow_id = ${workflowId} and (status <> 'G' or num_attempts <> 0)
           ${keepDone ? sql`and status <> 'D'` : sql``}`.execute(tx);
      const done = await sql<{
        n: number;
      }>`select count(*)::int as n from task where workflow_id = ${workflowId} and status = 'D'`.execute(tx);
      await recomputeUpstreamRemaining(tx, workflowId);
      await tx
        .updateTable('workflow')
        .set({ status: 'G', status_date: sql`now()` })
        .where('id', '=', workflowId)
        .execute();
      return { reset: Number(changed.numAffectedRows ?? 0), keptDone: done.rows[0].n };
    }),
  );
}
