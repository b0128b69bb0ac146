/**
 * The workflow row lock. Scheduling passes, run creation (resume) and manual status changes of one
 * workflow take this lock first, so they take turns: a task cannot be queued by the scheduler while
 * an operator marks it DONE, and two resumes cannot both create a run.
 */
import { notFound } from '../domain/errors';
import type { WorkflowStatus } from '../domain/statuses';
import type { Tx } from './db';

export interface LockedWorkflow {
  id: number;
  status: WorkflowStatus;
  max_concurrently_running: number;
}

export async function lockWorkflow(tx: Tx, workflowId: number): Promise<LockedWorkflow> {
  const wf = await tx
    .selectFrom('workflow')
    .select(['id', 'status', 'max_concurrently_running'])
    .where('id', '=', workflowId)
    .forUpdate()
    .executeTakeFirst();
  if (!wf) throw notFound('workflow', workflowId);
  return wf;
}
