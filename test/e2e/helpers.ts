/** Shared pieces of the end-to-end tests: a client Tool on a test stack, and record checks. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { sql } from 'kysely';
import { workflowBundle } from '../../src/worker/create-worker';
import { Tool } from '../../src/client';
import type { Db } from '../../src/sql/db';
import type { TestStack } from '../helpers/stack';

export function toolOn(stack: TestStack, name: string): Tool {
  return new Tool(name, { config: stack.config, stderr: { write: () => true } });
}

export interface InstanceRecord {
  id: number;
  task_id: number;
  status: string;
  started_date: Date | null;
  ended_date: Date | null;
}

export async function instances(db: Db, workflowId: number): Promise<InstanceRecord[]> {
  const rows = await sql<InstanceRecord>`
    select id, task_id, status, started_date, ended_date from task_instance where workflow_id = ${workflowId} order by id`.execute(
    db,
  );
  return rows.rows;
}

/** Most instances whose [started, ended] intervals overlap at one moment (running at once). */
export function maxOverlap(records: InstanceRecord[]): number {
  const events: [number, number][] = [];
  for (const r of records) {
    if (!r.started_date) continue;
    events.push([r.started_date.getTime(), 1]);
    events.push([(r.ended_date ?? new Date(8.64e15)).getTime(), -1]);
  }
  // Ends sort before starts at the same instant: back-to-back is not overlapping.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) {
    now += d;
    max = Math.max(max, now);
  }
  return max;
}

/** Tasks that had two instances running at the same time (must always be empty). */
export function tasksRunTwiceAtOnce(records: InstanceRecord[]): number[] {
  const byTask = new Map<number, InstanceRecord[]>();
  for (const r of records) byTask.set(r.task_id, [...(byTask.get(r.task_id) ?? []), r]);
  return [...byTask.entries()].filter(([, rs]) => maxOverlap(rs) > 1).map(([id]) => id);
}

export async function taskStatusCounts(db: Db, workflowId: number): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('task')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('workflow_id', '=', workflowId)
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * Replay every execution this stack's task queue ran on the current workflow code; returns the
 * failures (empty = deterministic). With JMT_RECORD_HISTORIES=1 the histories are also written to
 * test/fixtures/histories in the CLI's JSON (what `temporal workflow show --output json` prints),
 * which test/e2e/replay.test.ts replays on every later version of the code.
 */
export async function replayRunsOf(stack: TestStack): Promise<{ replayed: string[]; failures: string[] }> {
  const query = `TaskQueue="${stack.config.taskQueue}"`;
  const replayed: string[] = [];
  const failures: string[] = [];
  const histories = stack.temporal.client.workflow.list({ query }).intoHistories();
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
    replayed.push(result.workflowId);
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  if (process.env.JMT_RECORD_HISTORIES === '1') {
    const dir = path.join(__dirname, '..', 'fixtures', 'histories');
    for await (const execution of stack.temporal.client.workflow.list({ query })) {
      const json = execFileSync(stack.config.temporalBin, [
        'workflow',
        'show',
        '--workflow-id',
        execution.workflowId,
        '--run-id',
        execution.runId,
        '--address',
        stack.config.temporalAddress,
        '--namespace',
        stack.config.temporalNamespace,
        '--output',
        'json',
      ]);
      writeFileSync(path.join(dir, `${execution.workflowId}-${execution.runId}.json`), json);
    }
  }
  return { replayed, failures };
}

/** The workflow's newest run (status letter), or undefined before its first run. */
export async function lastRun(db: Db, workflowId: number): Promise<{ id: number; status: string } | undefined> {
  return db
    .selectFrom('workflow_run')
    .select(['id', 'status'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id', 'desc')
    .executeTakeFirst();
}
