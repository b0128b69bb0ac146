/** Shared pieces of the end-to-end tests: a client Tool on a test stack, and record checks. */
import { sql } from 'kysely';
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
