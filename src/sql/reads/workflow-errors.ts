/**
 * `GET /workflows/{id}/errors`: the latest task-instance errors of a workflow, newest first.
 */
import { notFound } from '../../domain/errors';
import { iso } from '../dates';
import type { Db } from '../db';
import type { WorkflowErrorRow } from '../../contract/types';

/** The answer as the contract publishes it (src/contract). */
export type ErrorRow = WorkflowErrorRow;

/**
 * A page of errors, newest first. Pages go by the error log's id (`before`, the previous page's
 * `next_cursor`): ids are given in the order errors are recorded, so a page deep in a run with
 * millions of errors costs one index range, as the first page does.
 */
export async function listWorkflowErrors(
  db: Db,
  workflowId: number,
  page: { limit?: number; before?: number } = {},
): Promise<{ errors: ErrorRow[]; next_cursor: number | null }> {
  const limit = page.limit ?? 20;
  const exists = await db.selectFrom('workflow').select('id').where('id', '=', workflowId).executeTakeFirst();
  if (!exists) throw notFound('workflow', workflowId, 'id');
  // task_instance has no workflow_id index; reaching its rows through the workflow's runs uses
  // task_instance_run_status(workflow_run_id, ...) instead of scanning every instance.
  let q = db
    .selectFrom('task_instance_error_log as e')
    .innerJoin('task_instance as ti', 'ti.id', 'e.task_instance_id')
    .innerJoin('task as k', 'k.id', 'ti.task_id')
    .select(['e.id', 'e.task_instance_id', 'ti.task_id', 'k.name as task_name', 'e.error_time', 'e.description'])
    .where('ti.workflow_run_id', 'in', (eb) =>
      eb.selectFrom('workflow_run').select('id').where('workflow_id', '=', workflowId),
    )
    .where('ti.workflow_id', '=', workflowId);
  if (page.before !== undefined) q = q.where('e.id', '<', page.before);
  const rows = await q.orderBy('e.id', 'desc').limit(limit).execute();
  return {
    errors: rows.map((r) => ({
      task_instance_id: Number(r.task_instance_id),
      task_id: Number(r.task_id),
      task_name: r.task_name,
      error_time: iso(r.error_time),
      description: r.description,
    })),
    next_cursor: rows.length === limit ? Number(rows[rows.length - 1].id) : null,
  };
}
