/**
 * The operator audit log (`workflow_event`, migration 0003): one row per control acted on a
 * workflow. Written by the API once the caller is known to be allowed, read with the workflow.
 */
import type { Db } from './db';

export type OperatorAction =
  | 'start'
  | 'resume'
  | 'pause'
  | 'unpause'
  | 'stop-drain'
  | 'stop-kill'
  | 'concurrency'
  | 'set-status'
  | 'reset'
  | 'grant'
  | 'revoke';

export interface NewEvent {
  workflowId: number;
  workflowRunId?: number | null;
  user: string;
  action: OperatorAction;
  /** `ok`, or the code of the error the control was refused with. */
  result?: string;
  details?: Record<string, unknown>;
}

export interface WorkflowEvent {
  id: number;
  workflow_id: number;
  workflow_run_id: number | null;
  user: string;
  action: string;
  result: string;
  details: Record<string, unknown>;
  created_date: string;
}

/** The row an event is stored as. */
function eventRow(event: NewEvent) {
  return {
    workflow_id: event.workflowId,
    workflow_run_id: event.workflowRunId ?? null,
    user: event.user,
    action: event.action,
    result: event.result ?? 'ok',
    details: JSON.stringify(event.details ?? {}),
  };
}

export async function recordEvent(db: Pick<Db, 'insertInto'>, event: NewEvent): Promise<void> {
  await db.insertInto('workflow_event').values(eventRow(event)).execute();
}

/** As recordEvent, answering the row's id (a control's event written before it acts). */
export async function insertEvent(db: Pick<Db, 'insertInto'>, event: NewEvent): Promise<number> {
  const row = await db.insertInto('workflow_event').values(eventRow(event)).returning('id').executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Settle an event written before its control acted: its result, run and outcome details. */
export async function settleEvent(
  db: Db,
  id: number,
  settled: { result: string; workflowRunId?: number | null; details: Record<string, unknown> },
): Promise<void> {
  await db
    .updateTable('workflow_event')
    .set({
      result: settled.result,
      details: JSON.stringify(settled.details),
      ...(settled.workflowRunId !== undefined ? { workflow_run_id: settled.workflowRunId } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** Remove an event written before its control acted, when the control was refused. */
export async function deleteEvent(db: Db, id: number): Promise<void> {
  await db.deleteFrom('workflow_event').where('id', '=', id).execute();
}

/** Latest first. */
export async function listEvents(db: Db, workflowId: number, limit: number): Promise<WorkflowEvent[]> {
  const rows = await db
    .selectFrom('workflow_event')
    .select(['id', 'workflow_id', 'workflow_run_id', 'user', 'action', 'result', 'details', 'created_date'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    workflow_id: r.workflow_id,
    workflow_run_id: r.workflow_run_id,
    user: r.user,
    action: r.action,
    result: r.result,
    details: r.details,
    created_date: new Date(r.created_date).toISOString(),
  }));
}

/** The run a control acts on: the active one, else the latest (for the record only). */
export async function currentRunId(db: Db, workflowId: number): Promise<number | null> {
  const row = await db
    .selectFrom('workflow_run')
    .select('id')
    .where('workflow_id', '=', workflowId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}
