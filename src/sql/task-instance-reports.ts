/**
 * Reports about one TaskInstance — from the worker-node wrapper (through the API), from the dummy
 * distributor, and from the batch monitor when a job went silent. Each moves the instance and its
 * task together, guarded by the FSM (src/domain/fsm.ts) so that late, duplicated or reordered
 * reports change nothing ("untimely" in Jobmon's words). Each is one statement, and so is a batch
 * of them (the local executor's): the functions of migration 0020 run once per report on the
 * server, because the round trips of a transaction per report were the services' largest cost.
 *
 * Row locks are always taken task_instance first, then task: the same order everywhere, so two
 * reports for one task cannot deadlock.
 */
import { sql } from 'kysely';
import { retryOnDeadlock, type Db, type Tx } from './db';
import {
  decideTask,
  sourcesOf,
  TASK_INSTANCE_TRANSITIONS,
  TASK_TRANSITIONS,
  taskStatusAfterInstanceError,
} from '../domain/fsm';
import type { TaskInstanceStatus, TaskStatus } from '../domain/statuses';
import { adjustTaskResources } from './resource-adjustment';

export interface RunningReport {
  distributorId: string;
  nodename: string;
  processId: number;
}
export interface RunningInstance {
  taskInstanceId: number;
  taskId: number;
  workflowId: number;
  workflowRunId: number;
  name: string;
  command: string;
  stdoutPath: string;
  stderrPath: string;
  /** Directory the command runs in (null: the wrapper's own). */
  workingDir: string | null;
}
export type RunningResult =
  { ok: true; instance: RunningInstance } | { ok: false; status: TaskInstanceStatus; reason: string };

export interface EndReport {
  exitCode: number | null;
  wallclockS?: number;
  maxrssBytes?: number;
  cpuS?: number;
  stdoutTail?: string;
  stderrTail?: string;
  nodename?: string;
}
export type ErrorState = 'E' | 'Z' | 'U' | 'F' | 'W' | 'X';

export interface ReportSettings {
  /** Seconds until the instance counts as lost unless it reports again. */
  reportBySeconds: number;
  /** Root for stdout/stderr files when the task's resources name no directory. */
  logDir: string;
}

/**
 * One report about one instance, as the routes and the batch route take it. `batchId`: the job
 * token's batch, when the caller is a job whose batch was not checked yet (the batch route).
 */
export type InstanceReport =
  | { kind: 'running'; taskInstanceId: number; report: RunningReport }
  | { kind: 'end'; taskInstanceId: number; state: 'D' | ErrorState; message?: string; report: EndReport };

export type ReportRefusal = 'missing' | 'forbidden';
export type ReportAnswer =
  { kind: 'running'; result: RunningResult | ReportRefusal } | { kind: 'end'; result: EndResult | ReportRefusal };

const letters = (xs: readonly string[]): string => xs.join('');

/** Where an instance and its task may come from to become RUNNING (the FSM's tables, as letters). */
const RUNNING_GUARD = {
  instanceFrom: letters(sourcesOf(TASK_INSTANCE_TRANSITIONS, 'R')),
  taskFrom: letters(sourcesOf(TASK_TRANSITIONS, 'R')),
};

interface EndGuard {
  instanceFrom: string;
  taskFrom: string;
  /** The task's status after this end below its max_attempts, and at it. */
  retry: TaskStatus;
  exhausted: TaskStatus;
}

/**
 * A final report: the instance from any source of `state`; its task DONE, or through ERROR to what
 * Jobmon's transition_after_task_instance_error says (F at once for an operator's kill).
 */
function endGuardOf(state: 'D' | ErrorState): EndGuard {
  const instanceFrom = letters(sourcesOf(TASK_INSTANCE_TRANSITIONS, state));
  if (state === 'D')
    return { instanceFrom, taskFrom: letters(sourcesOf(TASK_TRANSITIONS, 'D')), retry: 'D', exhausted: 'D' };
  const after = (numAttempts: number, maxAttempts: number): TaskStatus => {
    const next = state === 'F' ? 'F' : taskStatusAfterInstanceError(state, numAttempts, maxAttempts);
    return decideTask('E', next) === 'apply' ? next : 'E';
  };
  return {
    instanceFrom,
    taskFrom: letters(sourcesOf(TASK_TRANSITIONS, 'E')),
    retry: after(0, 1),
    exhausted: after(1, 1),
  };
}
const END_GUARDS = new Map<string, EndGuard>();
function endGuard(state: 'D' | ErrorState): EndGuard {
  let guard = END_GUARDS.get(state);
  if (!guard) END_GUARDS.set(state, (guard = endGuardOf(state)));
  return guard;
}

interface RunningRow {
  outcome: 'ok' | 'missing' | 'forbidden' | 'other_job' | 'not_runnable';
  status: TaskInstanceStatus;
  owner: string | null;
  task_id: number;
  workflow_id: number;
  workflow_run_id: number;
  name: string;
  command: string;
  stdout_path: string;
  stderr_path: string;
  working_dir: string | null;
}

type RunningItem = Extract<InstanceReport, { kind: 'running' }>;

/** Running reports as one part of the statement: jmt_report_running (migration 0020) per row, in order. */
function runningPart(items: RunningItem[], settings: ReportSettings, batchId: number | null) {
  return sql`
    select 'running' as part, u.ord::int as ord, to_jsonb(r) as row
      from unnest(${items.map((i) => i.taskInstanceId)}::bigint[], ${items.map((i) => i.report.distributorId)}::text[],
                  ${items.map((i) => i.report.nodename)}::text[], ${items.map((i) => i.report.processId)}::int[])
           with ordinality as u(id, distributor_id, nodename, process_id, ord)
     cross join lateral jmt_report_running(u.id, ${batchId}::bigint, u.distributor_id, u.nodename, u.process_id,
                    ${settings.reportBySeconds}::float8, ${settings.logDir}::text, ${process.cwd()}::text,
                    ${RUNNING_GUARD.instanceFrom}::text, ${RUNNING_GUARD.taskFrom}::text) r`;
}

function runningResult(row: RunningRow, item: RunningItem): RunningResult | ReportRefusal {
  if (row.outcome === 'missing' || row.outcome === 'forbidden') return row.outcome;
  if (row.outcome === 'other_job') {
    const reason = `instance belongs to job ${row.owner}, not ${item.report.distributorId}`;
    return { ok: false, status: row.status, reason };
  }
  if (row.outcome === 'not_runnable')
    return { ok: false, status: row.status, reason: `instance is ${row.status}; it may not start` };
  const instance: RunningInstance = {
    taskInstanceId: item.taskInstanceId,
    taskId: Number(row.task_id),
    workflowId: row.workflow_id,
    workflowRunId: row.workflow_run_id,
    name: row.name,
    command: row.command,
    stdoutPath: row.stdout_path,
    stderrPath: row.stderr_path,
    workingDir: row.working_dir,
  };
  return { ok: true, instance };
}

interface EndRow {
  outcome: 'applied' | 'unchanged' | 'missing' | 'forbidden';
  status: TaskInstanceStatus;
  workflow_id: number;
  run_has_work: boolean;
  task_id: number;
  task_status: TaskStatus;
  num_attempts: number;
}

type EndItem = { taskInstanceId: number; state: 'D' | ErrorState; message?: string; report: EndReport };

/** Final reports as one part of the statement: jmt_report_end per row, in order. */
function endPart(items: EndItem[], batchId: number | null) {
  const col = <T>(f: (i: EndItem) => T): T[] => items.map(f);
  const guard = (i: EndItem) => endGuard(i.state);
  return sql`
    select 'end' as part, u.ord::int as ord, to_jsonb(r) as row
      from unnest(${col((i) => i.taskInstanceId)}::bigint[], ${col((i) => i.state)}::text[],
                  ${col((i) => guard(i).instanceFrom)}::text[], ${col((i) => guard(i).taskFrom)}::text[],
                  ${col((i) => guard(i).retry)}::text[], ${col((i) => guard(i).exhausted)}::text[],
                  ${col((i) => (i.state === 'D' ? null : (i.message ?? '').slice(0, 10_000)))}::text[],
                  ${col((i) => i.report.exitCode)}::int[], ${col((i) => i.report.wallclockS ?? null)}::float8[],
                  ${col((i) => i.report.maxrssBytes ?? null)}::bigint[], ${col((i) => i.report.cpuS ?? null)}::float8[],
                  ${col((i) => i.report.stdoutTail ?? null)}::text[], ${col((i) => i.report.stderrTail ?? null)}::text[],
                  ${col((i) => i.report.nodename ?? null)}::text[])
           with ordinality as u(id, state, ti_from, task_from, retry, exhausted, message, exit_code,
                                wallclock_s, maxrss_bytes, cpu_s, stdout_tail, stderr_tail, nodename, ord)
     cross join lateral jmt_report_end(u.id, ${batchId}::bigint, u.state, u.ti_from, u.task_from, u.retry, u.exhausted,
                    u.message, u.exit_code, u.wallclock_s, u.maxrss_bytes, u.cpu_s, u.stdout_tail, u.stderr_tail, u.nodename) r`;
}

function endResult(row: EndRow): EndResult | ReportRefusal {
  if (row.outcome === 'missing' || row.outcome === 'forbidden') return row.outcome;
  const applied = row.outcome === 'applied';
  return { status: row.status, workflowId: row.workflow_id, applied, runHasWork: applied && row.run_has_work };
}

/**
 * Apply reports, each answered on its own: a refusal (unknown instance, another batch's, another
 * job's, not runnable, late) is that item's answer and changes nothing, the others apply.
 *
 * One statement, so one round trip and its own transaction, whatever the mix: the final reports'
 * part, then the running reports' (`union all` runs its parts in order, and each call of the
 * volatile functions sees the calls before it). Final reports first: the local executor frees a
 * task's slot once its final report is queued, so the next task's running report often shares its
 * request, and applied in this order the instances never look like more than the slots at once.
 * Items are applied in instance id order within each part, so two batches lock rows in the same
 * order. A resource error that sends its task to ADJUSTING_RESOURCES also needs the task's new
 * resources (src/sql/resource-adjustment.ts): that batch is one transaction of a few statements.
 */
export async function applyReports(
  db: Db,
  reports: InstanceReport[],
  settings: ReportSettings,
  batchId: number | null = null,
): Promise<ReportAnswer[]> {
  const order = reports.map((_, k) => k).sort((a, b) => reports[a].taskInstanceId - reports[b].taskInstanceId);
  const running = order.filter((k) => reports[k].kind === 'running');
  const ends = order.filter((k) => reports[k].kind === 'end');
  const parts = [
    ...(ends.length
      ? [
          endPart(
            ends.map((k) => reports[k] as EndItem),
            batchId,
          ),
        ]
      : []),
    ...(running.length
      ? [
          runningPart(
            running.map((k) => reports[k] as RunningItem),
            settings,
            batchId,
          ),
        ]
      : []),
  ];
  const apply = async (q: Db | Tx): Promise<ReportAnswer[]> => {
    const { rows } = await sql<{ part: 'running' | 'end'; ord: number; row: RunningRow | EndRow }>`${sql.join(
      parts,
      sql` union all `,
    )}`.execute(q);
    const answers: ReportAnswer[] = new Array(reports.length);
    for (const { part, ord, row } of rows) {
      if (part === 'end') {
        const end = row as EndRow;
        if (end.outcome === 'applied' && end.task_status === 'A')
          await adjustTaskResources(q as Tx, Number(end.task_id), end.num_attempts);
        answers[ends[ord - 1]] = { kind: 'end', result: endResult(end) };
      } else {
        const k = running[ord - 1];
        answers[k] = { kind: 'running', result: runningResult(row as RunningRow, reports[k] as RunningItem) };
      }
    }
    return answers;
  };
  const mayAdjust = ends.some((k) => endGuard((reports[k] as EndItem).state).retry === 'A');
  return retryOnDeadlock(() => (mayAdjust ? db.transaction().execute(apply) : apply(db)));
}

export async function logRunning(
  db: Db,
  taskInstanceId: number,
  report: RunningReport,
  settings: ReportSettings,
): Promise<RunningResult | undefined> {
  const [answer] = await applyReports(db, [{ kind: 'running', taskInstanceId, report }], settings);
  return answer.kind === 'running' && typeof answer.result !== 'string' ? answer.result : undefined;
}

/** Final reports need no settings (those are for the running report's paths and deadline). */
const NO_SETTINGS: ReportSettings = { reportBySeconds: 0, logDir: '/' };

/**
 * What a final report did, all read in its own statement so the route needs no further trip:
 * the instance's status afterwards, its workflow, and (when the report moved it) whether the run's
 * scheduler has work now (a task became ready, or nothing is in flight any more).
 */
export interface EndResult {
  status: TaskInstanceStatus;
  workflowId: number;
  /** False for a late or repeated report, which changed nothing. */
  applied: boolean;
  runHasWork: boolean;
}

async function logEnd(db: Db, item: EndItem): Promise<EndResult | undefined> {
  const [answer] = await applyReports(db, [{ kind: 'end', ...item }], NO_SETTINGS);
  return answer.kind === 'end' && typeof answer.result !== 'string' ? answer.result : undefined;
}

export function logDone(db: Db, taskInstanceId: number, report: EndReport): Promise<EndResult | undefined> {
  return logEnd(db, { taskInstanceId, state: 'D', report });
}

/**
 * Jobmon's transition_after_task_instance_error: a fatal instance (killed by an operator) makes the
 * task fatal at once; otherwise retry as is, retry with more resources, or give up at max_attempts.
 */
export function logError(
  db: Db,
  taskInstanceId: number,
  state: ErrorState,
  message: string,
  report: EndReport,
): Promise<EndResult | undefined> {
  return logEnd(db, { taskInstanceId, state, message, report });
}

/** Decrement upstream_remaining of the tasks downstream of `doneTaskIds` (counted per edge). */
export async function releaseDownstream(tx: Tx | Db, doneTaskIds: number[]): Promise<void> {
  if (doneTaskIds.length === 0) return;
  // Lock the downstream rows in id order first: two batches completing at once often share
  // fan-in tasks, and an update locks rows in whatever order its join yields them, so without
  // this they deadlocked (the million-task benchmark lost batches to "deadlock detected").
  const locked = await sql`
    select t.id from task t
     where t.id in (select downstream_task_id from task_dependency where upstream_task_id = any(${doneTaskIds}::bigint[]))
     order by t.id
       for update of t`.execute(tx);
  // Leaves of the DAG (every task of a wide one) have nothing downstream: spare the second trip.
  if (locked.rows.length === 0) return;
  await sql`
    update task t set upstream_remaining = t.upstream_remaining - c.n
    from (select downstream_task_id as id, count(*)::int as n
            from task_dependency where upstream_task_id = any(${doneTaskIds}::bigint[])
           group by downstream_task_id) c
    where t.id = c.id`.execute(tx);
}

/**
 * Complete many instances at once without usage figures: the dummy distributor's path, which is
 * what orchestration benchmarks measure, so it must not cost a transaction per task.
 */
export async function completeInstancesBulk(db: Db, taskInstanceIds: number[]): Promise<number> {
  if (taskInstanceIds.length === 0) return 0;
  return db.transaction().execute(async (tx) => {
    const done = await sql<{ task_id: number }>`
      update task_instance set status = 'D', status_date = now(), report_by_date = null, exit_code = 0, wallclock_s = 0
       where id = any(${taskInstanceIds}::bigint[]) and status in ('Q','I','O','R','T')
       returning task_id`.execute(tx);
    const taskIds = done.rows.map((r) => Number(r.task_id));
    if (taskIds.length === 0) return 0;
    const tasks = await sql<{ id: number }>`
      update task set status = 'D', status_date = now()
       where id = any(${taskIds}::bigint[]) and status in ('Q','I','O','R')
       returning id`.execute(tx);
    await releaseDownstream(
      tx,
      tasks.rows.map((r) => Number(r.id)),
    );
    return tasks.rows.length;
  });
}
