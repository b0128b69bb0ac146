/**
 * The facts `jmt workflow progress` is computed from: reads run at once, each a GROUP BY or a
 * bounded lookup on an index (task counts: the kept counters; task_instance_run_status,
 * task_instance_workflow_ended, task_retried), but for the instance totals, which are reused for a
 * few seconds on big runs (instanceTotals); nothing loads the task list.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db';
import { statusCounts } from '../status-counts';

/** The window over which parallelism and recent queue waits are observed. */
export const WINDOW_S = 15 * 60;
/** Launched on the cluster but not started for this long. */
export const PENDING_LONG_S = 30 * 60;

export interface ArrayRow {
  array_id: number;
  tt_id: number;
  name: string;
  lim: number;
  total: number;
  done: number;
  running: number;
  fatal: number;
  requested_runtime: number | null;
}

/** The ids of a workflow's runs, as a subquery: instances are reached through task_instance_run_status. */
export function runIdsOf(workflowId: number): RawBuilder<unknown> {
  return sql`(select id from workflow_run where workflow_id = ${workflowId})`;
}

export interface ProgressFacts {
  arrays: ArrayRow[];
  times: Awaited<ReturnType<typeof readRunTimes>>;
  live: Awaited<ReturnType<typeof readLiveInstances>>;
  recent: Awaited<ReturnType<typeof readRecentInstances>>;
  nearMax: Awaited<ReturnType<typeof readNearMaxAttempts>>;
  resourceRepeat: Awaited<ReturnType<typeof readRepeatedResourceErrors>>;
  errorsPerArray: Awaited<ReturnType<typeof readErrorsPerArray>>;
}

export async function readProgressFacts(db: Db, workflowId: number): Promise<ProgressFacts> {
  const runIds = runIdsOf(workflowId);
  const [arrays, times, live, recent, nearMax, resourceRepeat, errorsPerArray] = await Promise.all([
    readArrays(db, workflowId),
    readRunTimes(db, workflowId),
    readLiveInstances(db, runIds),
    readRecentInstances(db, workflowId),
    readNearMaxAttempts(db, workflowId),
    readRepeatedResourceErrors(db, runIds),
    readErrorsPerArray(db, runIds),
  ]);
  return { arrays, times, live, recent, nearMax, resourceRepeat, errorsPerArray };
}

/** The workflow's arrays (= its templates) with their task counts (kept counters) and a requested runtime. */
async function readArrays(db: Db, workflowId: number): Promise<ArrayRow[]> {
  const [arrays, counts] = await Promise.all([
    sql<Omit<ArrayRow, 'total' | 'done' | 'running' | 'fatal'>>`
      select a.id as array_id, tt.id as tt_id, tt.name, a.max_concurrently_running as lim,
             -- Ordered as task_array_node_args is, so the planner walks that index to the first
             -- row; unordered it chose a sequential scan that read 1,000,000 tasks per array.
             (select (r.requested_resources->>'runtime')::float8
                from task k join task_resources r on r.id = k.task_resources_id
               where k.array_id = a.id order by k.array_id, k.node_args_hash limit 1) as requested_runtime
        from array_ a
        join task_template_version v on v.id = a.task_template_version_id
        join task_template tt on tt.id = v.task_template_id
       where a.workflow_id = ${workflowId}
       order by tt.name`
      .execute(db)
      .then((r) => r.rows),
    statusCounts(db, workflowId),
  ]);
  const rows = new Map(arrays.map((a) => [a.array_id, { ...a, total: 0, done: 0, running: 0, fatal: 0 }]));
  for (const c of counts) {
    const row = rows.get(c.array_id);
    if (!row) continue;
    row.total += c.n;
    if (c.status === 'D') row.done += c.n;
    else if (c.status === 'R') row.running += c.n;
    else if (c.status === 'F') row.fatal += c.n;
  }
  return [...rows.values()];
}

/** When the first run started, when the last one ended, whether one is active, and the database's now. */
function readRunTimes(db: Db, workflowId: number) {
  return sql<{ first_run: Date | null; last_run_end: Date | null; any_active: boolean; now: Date }>`
    select min(created_date) as first_run,
           max(status_date) filter (where status not in ('G','L','B','I','O','R','C','H')) as last_run_end,
           coalesce(bool_or(status in ('G','L','B','I','O','R','C','H')), false) as any_active,
           now() as now
      from workflow_run where workflow_id = ${workflowId}`
    .execute(db)
    .then((r) => r.rows[0]);
}

/** Instances queued or running now: counts, busy time inside the window, queue waits. */
function readLiveInstances(db: Db, runIds: RawBuilder<unknown>) {
  return sql<{
    running: number;
    waiting: number;
    running_busy_s: number;
    pending_long: number;
    wait_median: number | null;
    wait_max: number | null;
    first_started: Date | null;
  }>`
    select count(*) filter (where status = 'R')::int as running,
           min(started_date) as first_started,
           count(*) filter (where status in ('Q','I','O','B'))::int as waiting,
           coalesce(sum(extract(epoch from now() - greatest(started_date, now() - make_interval(secs => ${WINDOW_S}))))
             filter (where status = 'R' and started_date is not null), 0)::float8 as running_busy_s,
           count(*) filter (where status in ('O','B') and submitted_date < now() - make_interval(secs => ${PENDING_LONG_S}))::int as pending_long,
           percentile_cont(0.5) within group (order by extract(epoch from now() - submitted_date))
             filter (where status in ('O','B') and submitted_date is not null) as wait_median,
           max(extract(epoch from now() - submitted_date)) filter (where status in ('O','B'))::float8 as wait_max
      from task_instance
     where workflow_run_id in ${runIds} and status in ('Q','I','O','B','R')`
    .execute(db)
    .then((r) => r.rows[0]);
}

/** Instances of the last window (busy time, done, queue wait), the last done, and totals (CPU, count). */
async function readRecentInstances(db: Db, workflowId: number) {
  const [window, lastDone, totals] = await Promise.all([
    readWindow(db, workflowId),
    readLastDone(db, workflowId),
    instanceTotals(db, workflowId),
  ]);
  return { ...window, last_done: lastDone, ...totals };
}

/** The last window's instances: a range of task_instance_workflow_ended, whatever the run's size. */
function readWindow(db: Db, workflowId: number) {
  return sql<{ busy_s: number; done_recent: number; wait_recent: number | null; first_started: Date | null }>`
    select min(started_date) as first_started,
           coalesce(sum(extract(epoch from ended_date - greatest(started_date, now() - make_interval(secs => ${WINDOW_S}))))
             filter (where started_date is not null), 0)::float8 as busy_s,
           count(*) filter (where status = 'D')::int as done_recent,
           percentile_cont(0.5) within group (order by extract(epoch from started_date - submitted_date))
             filter (where started_date is not null and submitted_date is not null) as wait_recent
      from task_instance
     where workflow_id = ${workflowId} and ended_date > now() - make_interval(secs => ${WINDOW_S})`
    .execute(db)
    .then((r) => r.rows[0]);
}

/** When the last instance ended DONE: the newest end of task_instance_workflow_ended that is a D. */
function readLastDone(db: Db, workflowId: number): Promise<Date | null> {
  return sql<{ ended_date: Date }>`
    select ended_date from task_instance
     where workflow_id = ${workflowId} and status = 'D' and ended_date is not null
     order by ended_date desc limit 1`
    .execute(db)
    .then((r) => r.rows[0]?.ended_date ?? null);
}

/**
 * Instances so far and their CPU seconds: the one part of progress that reads every instance of
 * the workflow (492 ms at 61,000 instances in bench:million, and it grows with the run). Exact
 * below TOTALS_EXACT_BELOW instances; above, reused for TOTALS_TTL_MS per workflow, so fifty
 * observers polling a million-instance run cost one scan per interval, not one each. A kept
 * counter would be exact, but every report would then update one hot row per workflow.
 */
const TOTALS_EXACT_BELOW = 50_000;
const TOTALS_TTL_MS = 10_000;
type Totals = { cpu_s: number; instances: number };
const totalsCache = new WeakMap<Db, Map<number, { at: number; totals: Promise<Totals> }>>();

function instanceTotals(db: Db, workflowId: number): Promise<Totals> {
  let byWorkflow = totalsCache.get(db);
  if (!byWorkflow) totalsCache.set(db, (byWorkflow = new Map()));
  const now = Date.now();
  const kept = byWorkflow.get(workflowId);
  if (kept && now - kept.at < TOTALS_TTL_MS) return kept.totals;
  const totals = sql<Totals>`
    select coalesce(sum(cpu_s), 0)::float8 as cpu_s, count(*)::int as instances
      from task_instance where workflow_id = ${workflowId}`
    .execute(db)
    .then((r) => r.rows[0]);
  // A workflow already known to be big shares this refresh with every observer asking meanwhile,
  // so fifty of them at the interval's end start one scan, not fifty; one not yet seen big is read
  // exact on every call.
  const entry = { at: now, totals };
  if (kept) byWorkflow.set(workflowId, entry);
  const forget = () => {
    if (byWorkflow.get(workflowId) === entry) byWorkflow.delete(workflowId);
  };
  void totals.then((t) => (t.instances >= TOTALS_EXACT_BELOW ? byWorkflow.set(workflowId, entry) : forget()), forget);
  return totals;
}

/** Up to 5 unfinished tasks that failed before and are on or near their last attempt. */
function readNearMaxAttempts(db: Db, workflowId: number) {
  return sql<{ id: number; n: number }>`
    select id, count(*) over ()::int as n from task
     where workflow_id = ${workflowId} and status in ('G','A','E','Q','I','O','R')
       and num_attempts >= 2 and num_attempts >= max_attempts - 1
     order by num_attempts desc, id limit 5`
    .execute(db)
    .then((r) => r.rows);
}

/** Up to 5 tasks with two or more resource errors (Z), with how many such tasks in all. */
function readRepeatedResourceErrors(db: Db, runIds: RawBuilder<unknown>) {
  return sql<{ task_id: number; n: number; tasks: number }>`
    select task_id, count(*)::int as n, count(*) over ()::int as tasks from task_instance
     where workflow_run_id in ${runIds} and status = 'Z'
     group by task_id having count(*) >= 2 order by n desc, task_id limit 5`
    .execute(db)
    .then((r) => r.rows);
}

/** Failed attempts per array, for the templates that fail often. */
function readErrorsPerArray(db: Db, runIds: RawBuilder<unknown>) {
  return sql<{ array_id: number; errors: number; example: number }>`
    select array_id, count(*)::int as errors, max(task_id) as example from task_instance
     where workflow_run_id in ${runIds} and status in ('E','U','Z','W','X','F')
     group by array_id`
    .execute(db)
    .then((r) => r.rows);
}
