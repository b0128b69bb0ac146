/**
 * `GET /workflows/{id}/status`: a workflow's task counts by status, bucket and template, and its
 * latest run with the Temporal UI link. The counts are the kept counters (sql/status-counts.ts), so a
 * status of a million-task workflow sums a few dozen rows and no task is ever counted or loaded. Dates leave as ISO strings: these rows go straight to JSON.
 */
import { sql } from 'kysely';
import type { Config } from '../../config';
import { notFound } from '../../domain/errors';
import { WORKFLOW_RUN_STATUSES, WORKFLOW_STATUSES, taskBucket } from '../../domain/statuses';
import { temporalUiUrl } from '../../temporal/ids';
import { iso } from '../dates';
import type { Db } from '../db';
import { listEvents } from '../events';
import { sharedReads } from '../shared-reads';
import { statusCounts } from '../status-counts';
import { emptyBuckets, emptyCounts, percent, TASK_LETTERS, type Buckets, type StatusCounts } from './counts';
import type { WorkflowStatusReport } from '../../contract/types';

export type { Buckets, StatusCounts };

/** The answer as the contract publishes it (src/contract). */
export type WorkflowStatusView = Omit<WorkflowStatusReport, 'events' | 'may_operate'>;

/** The status and the latest operator controls, which `GET /status` shows together. */
export type WorkflowStatusWithEvents = Omit<WorkflowStatusReport, 'may_operate'>;

/** The last controls that travel with a status, so `jmt workflow status` shows them in one request. */
export const RECENT_EVENTS = 5;

/** The status of a workflow; concurrent callers share one read (shared-reads.ts). */
export function getWorkflowStatus(db: Db, config: Config, workflowId: number): Promise<WorkflowStatusView> {
  return sharedStatus(db, config, workflowId, () => readWorkflowStatus(db, config, workflowId));
}

/**
 * The status with its recent events, shared the same way: 50 dashboards polling a workflow cost
 * one events read per round, not 50 (each was a round trip of its own, and at that rate the API's
 * socket writes were most of its CPU).
 */
export function getWorkflowStatusWithEvents(
  db: Db,
  config: Config,
  workflowId: number,
): Promise<WorkflowStatusWithEvents> {
  return sharedStatusWithEvents(db, config, workflowId, async () => {
    const [status, events] = await Promise.all([
      getWorkflowStatus(db, config, workflowId),
      listEvents(db, workflowId, RECENT_EVENTS),
    ]);
    return { ...status, events };
  });
}

const sharedStatus = sharedReads<WorkflowStatusView>();
const sharedStatusWithEvents = sharedReads<WorkflowStatusWithEvents>();

async function readWorkflowStatus(db: Db, config: Config, workflowId: number): Promise<WorkflowStatusView> {
  const wf = await db
    .selectFrom('workflow as w')
    .innerJoin('tool_version as tv', 'tv.id', 'w.tool_version_id')
    .innerJoin('tool as t', 't.id', 'tv.tool_id')
    .select([
      'w.id',
      'w.name',
      't.name as tool',
      'w.user',
      'w.workflow_args',
      'w.status',
      'w.num_tasks',
      'w.max_concurrently_running',
    ])
    .where('w.id', '=', workflowId)
    .executeTakeFirst();
  if (!wf) throw notFound('workflow', workflowId, 'id');

  // Per array (= template in this workflow) and status.
  const [arrays, perArray, run] = await Promise.all([
    sql<{ array_id: number; name: string; max_concurrently_running: number }>`
      select a.id as array_id, tt.name, a.max_concurrently_running
        from array_ a
        join task_template_version ttv on ttv.id = a.task_template_version_id
        join task_template tt on tt.id = ttv.task_template_id
       where a.workflow_id = ${workflowId}`
      .execute(db)
      .then((r) => r.rows),
    statusCounts(db, workflowId),
    db
      .selectFrom('workflow_run')
      .select(['id', 'status', 'temporal_workflow_id', 'temporal_run_id', 'created_date'])
      .where('workflow_id', '=', workflowId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);

  const counts = emptyCounts();
  const buckets = emptyBuckets();
  const templates = new Map<number, { name: string; max_concurrently_running: number; buckets: Buckets }>();
  for (const a of arrays)
    templates.set(a.array_id, {
      name: a.name,
      max_concurrently_running: a.max_concurrently_running,
      buckets: emptyBuckets(),
    });
  for (const row of perArray) {
    const template = templates.get(row.array_id);
    counts[row.status] += row.n;
    buckets[taskBucket(row.status)] += row.n;
    if (template) template.buckets[taskBucket(row.status)] += row.n;
  }
  const total = TASK_LETTERS.reduce((sum, l) => sum + counts[l], 0);

  return {
    workflow_id: wf.id,
    name: wf.name,
    tool: wf.tool,
    user: wf.user,
    workflow_args: wf.workflow_args,
    status: wf.status,
    status_label: WORKFLOW_STATUSES[wf.status],
    num_tasks: total,
    counts,
    buckets,
    percent_done: percent(counts.D, total),
    max_concurrently_running: wf.max_concurrently_running,
    templates: [...templates.values()].sort((a, b) => a.name.localeCompare(b.name)),
    run: run
      ? {
          id: run.id,
          status: run.status,
          status_label: WORKFLOW_RUN_STATUSES[run.status],
          temporal_workflow_id: run.temporal_workflow_id,
          temporal_run_id: run.temporal_run_id,
          temporal_ui_url: temporalUiUrl(config, run.temporal_workflow_id, run.temporal_run_id ?? undefined),
          created_date: iso(run.created_date),
        }
      : null,
  };
}
