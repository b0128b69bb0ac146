/**
 * Reports about one TaskInstance — from the worker-node wrapper (through the API), from the dummy
 * distributor, and from the batch monitor when a job went silent. Each is one transaction that
 * moves the instance and its task together, guarded by the FSM (src/domain/fsm.ts) so that late,
 * duplicated or reordered reports change nothing ("untimely" in Jobmon's words).
 *
 * Row locks are always taken task_instance first, then task: the same order everywhere, so two
 * reports for one task cannot deadlock.
 */
import path from 'node:path';
import { sql } from 'kysely';
import type { Db, Tx } from './db';
import { decideTask, decideTaskInstance, taskStatusAfterInstanceError } from '../domain/fsm';
import type { TaskInstanceStatus, TaskStatus } from '../domain/statuses';
import { adjustTaskResources } from './resource-adjustment';
import { runHasWork } from './scheduling';
import { runPlaceOf } from './run-place';

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

interface LockedInstance {
  id: number;
  status: TaskInstanceStatus;
  distributor_id: string | null;
  task_id: number;
  workflow_id: number;
  workflow_run_id: number;
}

async function lockInstance(tx: Tx, id: number): Promise<LockedInstance | undefined> {
  const row = await tx
    .selectFrom('task_instance')
    .select(['id', 'status', 'distributor_id', 'task_id', 'workflow_id', 'workflow_run_id'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row ? { ...row, id: Number(row.id), task_id: Number(row.task_id) } : undefined;
}

async function lockTask(tx: Tx, id: number) {
  return tx
    .selectFrom('task')
    .select(['id', 'status', 'num_attempts', 'max_attempts', 'name', 'command', 'workflow_id'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

/** Move a task and, when it becomes DONE, release its downstream tasks (one less upstream pending). */
async function setTaskStatus(tx: Tx, taskId: number, from: TaskStatus, to: TaskStatus): Promise<boolean> {
  if (decideTask(from, to) !== 'apply') return false;
  await tx
    .updateTable('task')
    .set({ status: to, status_date: sql`now()` })
    .where('id', '=', taskId)
    .execute();
  if (to === 'D') await releaseDownstream(tx, [taskId]);
  return true;
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

export async function logRunning(
  db: Db,
  taskInstanceId: number,
  report: RunningReport,
  settings: ReportSettings,
): Promise<RunningResult | undefined> {
  return db.transaction().execute(async (tx) => {
    const ti = await lockInstance(tx, taskInstanceId);
    if (!ti) return undefined;
    const task = await lockTask(tx, ti.task_id);
    const sameJob = ti.distributor_id === null || ti.distributor_id === report.distributorId;
    if (!sameJob) {
      return {
        ok: false,
        status: ti.status,
        reason: `instance belongs to job ${ti.distributor_id}, not ${report.distributorId}`,
      };
    }
    const decision = decideTaskInstance(ti.status, 'R');
    // A repeated start report from the same job (an HTTP retry) gets the same answer again.
    const repeat = ti.status === 'R';
    if (decision !== 'apply' && !repeat) {
      return { ok: false, status: ti.status, reason: `instance is ${ti.status}; it may not start` };
    }
    // Jobmon's file names in the `stdout`/`stderr` resource directories (relative ones are taken
    // from the working directory), else under the server's log directory.
    const place = await runPlaceOf(tx, ti.id);
    const dir = path.join(settings.logDir, `workflow-${ti.workflow_id}`);
    const logDir = (d: string | null) => (d ? path.resolve(place.workingDir ?? dir, d) : dir);
    const stdoutPath = path.join(logDir(place.stdoutDir), `${task.name}.o${ti.id}`);
    const stderrPath = path.join(logDir(place.stderrDir), `${task.name}.e${ti.id}`);
    await tx
      .updateTable('task_instance')
      .set({
        status: 'R',
        status_date: sql`now()`,
        started_date: sql`coalesce(started_date, now())`,
        distributor_id: report.distributorId,
        nodename: report.nodename,
        process_id: report.processId,
        stdout_path: stdoutPath,
        stderr_path: stderrPath,
        report_by_date: sql`now() + make_interval(secs => ${settings.reportBySeconds})`,
      })
      .where('id', '=', ti.id)
      .execute();
    await setTaskStatus(tx, ti.task_id, task.status, 'R');
    return {
      ok: true,
      instance: {
        taskInstanceId: ti.id,
        taskId: ti.task_id,
        workflowId: ti.workflow_id,
        workflowRunId: ti.workflow_run_id,
        name: task.name,
        command: task.command,
        stdoutPath,
        stderrPath,
        workingDir: place.workingDir,
      },
    };
  });
}

function usage(report: EndReport) {
  return {
    ended_date: sql<Date>`now()`,
    exit_code: report.exitCode,
    wallclock_s: report.wallclockS ?? null,
    maxrss_bytes: report.maxrssBytes ?? null,
    cpu_s: report.cpuS ?? null,
    stdout_tail: report.stdoutTail ?? null,
    stderr_tail: report.stderrTail ?? null,
    ...(report.nodename ? { nodename: report.nodename } : {}),
  };
}

/**
 * What a final report did, all read in its own transaction so the route needs no further trip:
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

export async function logDone(db: Db, taskInstanceId: number, report: EndReport): Promise<EndResult | undefined> {
  return db.transaction().execute(async (tx) => {
    const ti = await lockInstance(tx, taskInstanceId);
    if (!ti) return undefined;
    if (decideTaskInstance(ti.status, 'D') !== 'apply') return unchanged(ti);
    const task = await lockTask(tx, ti.task_id);
    await tx
      .updateTable('task_instance')
      .set({ status: 'D', status_date: sql`now()`, report_by_date: null, ...usage(report) })
      .where('id', '=', ti.id)
      .execute();
    await setTaskStatus(tx, ti.task_id, task.status, 'D');
    return applied(tx, ti, 'D');
  });
}

export async function logError(
  db: Db,
  taskInstanceId: number,
  state: ErrorState,
  message: string,
  report: EndReport,
): Promise<EndResult | undefined> {
  return db.transaction().execute(async (tx) => {
    const ti = await lockInstance(tx, taskInstanceId);
    if (!ti) return undefined;
    if (decideTaskInstance(ti.status, state) !== 'apply') return unchanged(ti);
    const task = await lockTask(tx, ti.task_id);
    await tx
      .updateTable('task_instance')
      .set({ status: state, status_date: sql`now()`, report_by_date: null, ...usage(report) })
      .where('id', '=', ti.id)
      .execute();
    await tx
      .insertInto('task_instance_error_log')
      .values({ task_instance_id: ti.id, description: message.slice(0, 10_000) })
      .execute();
    await applyTaskError(tx, ti.task_id, task.status, state, task.num_attempts, task.max_attempts);
    return applied(tx, ti, state);
  });
}

function unchanged(ti: LockedInstance): EndResult {
  return { status: ti.status, workflowId: ti.workflow_id, applied: false, runHasWork: false };
}

async function applied(tx: Tx, ti: LockedInstance, status: TaskInstanceStatus): Promise<EndResult> {
  return { status, workflowId: ti.workflow_id, applied: true, runHasWork: await runHasWork(tx, ti.workflow_id) };
}

/**
 * Jobmon's transition_after_task_instance_error. A fatal instance (killed by an operator) makes the
 * task fatal at once; otherwise retry as is, retry with more resources, or give up at max_attempts.
 */
async function applyTaskError(
  tx: Tx,
  taskId: number,
  from: TaskStatus,
  state: ErrorState,
  numAttempts: number,
  maxAttempts: number,
): Promise<void> {
  if (!(await setTaskStatus(tx, taskId, from, 'E'))) return;
  const next: TaskStatus = state === 'F' ? 'F' : taskStatusAfterInstanceError(state, numAttempts, maxAttempts);
  await setTaskStatus(tx, taskId, 'E', next);
  if (next === 'A') await adjustTaskResources(tx, taskId, numAttempts);
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
