/**
 * `GET /workflows/{id}/errors`: the latest task-instance errors of a workflow, newest first.
 */
import { notFound } from '../../domain/errors';
import { iso } from '../dates';
import type { Db } from '../db';
import type { WorkflowErrorRow } from '../../contract/types';

/** The answer as the contract publishes it (src/contract). */
export type ErrorRow = WorkflowErrorRow;

export async function listWorkflowErrors(db: Db, workflowId: number, limit = 20): Promise<ErrorRow[]> {
  const exists = await db.selectFrom('workflow').select('id').where('id', '=', workflowId).executeTakeFirst();
  if (!exists) throw notFound('workflow', workflowId, 'id');
  // task_instance has no workflow_id index; reaching its rows through the workflow's runs uses
  // task_instance_run_status(workflow_run_id, ...) instead of scanning every instance.
  const rows = await db
    .selectFrom('task_instance_error_log as e')
    .innerJoin('task_instance as ti', 'ti.id', 'e.task_instance_id')
    .innerJoin('task as k', 'k.id', 'ti.task_id')
    .select(['e.task_instance_id', 'ti.task_id', 'k.name as task_name', 'e.error_time', 'e.description'])
    .where('ti.workflow_run_id', 'in', (eb) =>
      eb.selectFrom('workflow_run').select('id').where('workflow_id', '=', workflowId),
    )
    .where('ti.workflow_id', '=', workflowId)
    .orderBy('e.error_time', 'desc')
    .orderBy('e.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    task_instance_id: Number(r.task_instance_id),
    task_id: Number(r.task_id),
    task_name: r.task_name,
    error_time: iso(r.error_time),
    description: r.description,
  }));
}
