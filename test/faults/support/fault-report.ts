/**
 * What every fault test checks after its run, and the row it writes for `npm run test:faults`'s
 * table (test-results/faults/<slug>.json; scripts/fault-table.mjs prints them):
 *  - every task ended DONE (a task not DONE, or DONE before the fault and run again, is "lost");
 *  - no task ever had two instances running at once, and none finished twice ("run twice");
 *  - no definition lost: tasks, their commands and hashes, and the dependency edges are those bound;
 *  - the run finished by itself (the test never repairs anything by hand).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { projectRoot } from '../../../src/config';
import type { Db } from '../../../src/sql/db';
import { instances, tasksRunTwiceAtOnce, type InstanceRecord } from '../../e2e/helpers';

export interface Definitions {
  tasks: Map<number, string>;
  edges: number;
}

/** Tasks (id → hash of command and identity) and edge count of a bound workflow. */
export async function definitions(db: Db, workflowId: number): Promise<Definitions> {
  const { rows } = await sql<{ id: number; fingerprint: string }>`
    select id, task_hash || ' ' || command as fingerprint from task where workflow_id = ${workflowId}`.execute(db);
  const edges = await sql<{ n: number }>`
    select count(*)::int as n from task_dependency d join task t on t.id = d.downstream_task_id
     where t.workflow_id = ${workflowId}`.execute(db);
  return { tasks: new Map(rows.map((r) => [r.id, r.fingerprint])), edges: edges.rows[0].n };
}

/** Which instance made each task DONE, at some moment (e.g. just before the fault). */
export async function doneInstances(db: Db, workflowId: number): Promise<Map<number, number>> {
  const records = await instances(db, workflowId);
  return new Map(records.filter((r) => r.status === 'D').map((r) => [r.task_id, r.id]));
}

export interface InvariantReport {
  tasksLost: number;
  tasksRunTwice: number;
  /** Instances that did not end DONE (lost, errored, killed) and were retried. */
  instancesRetried: number;
  /** Those instances by final status, e.g. "U×3" (U lost/unknown, X never started, K killed...). */
  retriedByStatus: string;
  problems: string[];
}

export async function checkInvariants(
  db: Db,
  workflowId: number,
  expected: { tasks: number; edges: number; bound: Definitions; doneBeforeFault: Map<number, number> },
): Promise<InvariantReport> {
  const problems: string[] = [];
  const now = await definitions(db, workflowId);
  if (now.tasks.size !== expected.tasks)
    problems.push(`${now.tasks.size} tasks in the database, ${expected.tasks} bound`);
  if (now.edges !== expected.edges) problems.push(`${now.edges} dependency edges, ${expected.edges} bound`);
  for (const [id, fingerprint] of expected.bound.tasks) {
    if (now.tasks.get(id) !== fingerprint) problems.push(`task ${id}'s definition changed or vanished`);
  }
  const statuses = await sql<{ id: number; status: string }>`
    select id, status from task where workflow_id = ${workflowId}`.execute(db);
  const notDone = statuses.rows.filter((r) => r.status !== 'D');
  if (notDone.length)
    problems.push(
      `tasks not DONE: ${notDone
        .slice(0, 10)
        .map((r) => `${r.id}=${r.status}`)
        .join(', ')}`,
    );
  const fatal = notDone.filter((r) => r.status === 'F').map((r) => r.id);
  if (fatal.length) {
    // Why a task gave up: the last error of its last instance (what a debugger would read first).
    const errors = await sql<{ task_id: number; description: string }>`
      select distinct on (ti.task_id) ti.task_id, e.description
        from task_instance ti join task_instance_error_log e on e.task_instance_id = ti.id
       where ti.task_id = any(${fatal}::bigint[])
       order by ti.task_id, ti.id desc, e.id desc`.execute(db);
    for (const e of errors.rows) problems.push(`task ${e.task_id} ERROR_FATAL: ${e.description.slice(0, 400)}`);
  }
  const records: InstanceRecord[] = await instances(db, workflowId);
  const doneNow = new Map<number, number[]>();
  for (const r of records.filter((x) => x.status === 'D'))
    doneNow.set(r.task_id, [...(doneNow.get(r.task_id) ?? []), r.id]);
  const rerun = [...expected.doneBeforeFault].filter(([task, instance]) => {
    const d = doneNow.get(task) ?? [];
    return d.length !== 1 || d[0] !== instance;
  });
  if (rerun.length)
    problems.push(
      `tasks DONE before the fault that lost that status or ran again: ${rerun.map(([t]) => t).join(', ')}`,
    );
  const overlapping = tasksRunTwiceAtOnce(records);
  const doneTwice = [...doneNow].filter(([, ids]) => ids.length > 1).map(([t]) => t);
  if (overlapping.length) problems.push(`tasks with two instances running at once: ${overlapping.join(', ')}`);
  if (doneTwice.length) problems.push(`tasks DONE twice: ${doneTwice.join(', ')}`);
  return {
    tasksLost: new Set([...notDone.map((r) => r.id), ...rerun.map(([t]) => t)]).size,
    tasksRunTwice: new Set([...overlapping, ...doneTwice]).size,
    instancesRetried: records.filter((r) => r.status !== 'D').length,
    retriedByStatus: byStatus(records.filter((r) => r.status !== 'D')),
    problems,
  };
}

function byStatus(records: InstanceRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status}×${n}`).join(' ');
}

export interface FaultRow {
  fault: string;
  tasks: number;
  /** Seconds from the injection until the system noticed (null: nothing to notice / not measurable). */
  detectedAfterS: number | null;
  /** Seconds from the injection until work progressed again after the fault ended. */
  recoveredAfterS: number | null;
  tasksLost: number;
  tasksRunTwice: number;
  instancesRetried: number;
  /** Whole run, bind to final status. */
  runS: number;
  passed: boolean;
  note?: string;
}

export const FAULT_RESULTS_DIR = path.join(projectRoot(), 'test-results', 'faults');

export function writeFaultRow(slug: string, row: FaultRow): void {
  mkdirSync(FAULT_RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(FAULT_RESULTS_DIR, `${slug}.json`), `${JSON.stringify(row, null, 2)}\n`);
}

/**
 * Poll `probe` in the background from now on (bounded) and resolve with the seconds since `fromMs`
 * when it first holds, or null if it never did before `stop()` or the bound.
 */
export function watchFor(
  probe: () => Promise<boolean>,
  fromMs: number,
  timeoutMs = 240_000,
): { result: Promise<number | null>; stop(): void } {
  let stopped = false;
  const result = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!stopped && Date.now() < deadline) {
      try {
        if (await probe()) return (Date.now() - fromMs) / 1000;
      } catch {
        // e.g. the database is the thing restarting: not yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return null;
  })();
  return {
    result,
    stop() {
      stopped = true;
    },
  };
}

/** First instance reaching DONE after `sinceMs`, in seconds after `fromMs` (from the records' own times). */
export async function firstDoneAfter(
  db: Db,
  workflowId: number,
  sinceMs: number,
  fromMs: number,
): Promise<number | null> {
  const { rows } = await sql<{ t: Date | null }>`
    select min(status_date) as t from task_instance
     where workflow_id = ${workflowId} and status = 'D' and status_date >= ${new Date(sinceMs)}`.execute(db);
  const t = rows[0]?.t;
  return t ? (new Date(t).getTime() - fromMs) / 1000 : null;
}

/** First instance submitted after `sinceMs`, in seconds after `fromMs`. */
export async function firstSubmittedAfter(
  db: Db,
  workflowId: number,
  sinceMs: number,
  fromMs: number,
): Promise<number | null> {
  const { rows } = await sql<{ t: Date | null }>`
    select min(submitted_date) as t from task_instance
     where workflow_id = ${workflowId} and submitted_date >= ${new Date(sinceMs)}`.execute(db);
  const t = rows[0]?.t;
  return t ? (new Date(t).getTime() - fromMs) / 1000 : null;
}
