/**
 * `GET /workflows`: workflows newest first, filtered by user, tool, name and status; only the
 * returned page's tasks are counted.
 */
import { invalid } from '../../domain/errors';
import { isWorkflowStatus, WORKFLOW_STATUSES, type WorkflowStatus } from '../../domain/statuses';
import { iso } from '../dates';
import type { Db } from '../db';
import { escapeLike, percent, splitList } from './counts';
import type { WorkflowSummary } from '../../contract/types';

export type { WorkflowSummary };

export interface WorkflowListFilters {
  user?: string;
  tool?: string;
  /** Substring of the workflow name, case-insensitive. */
  name?: string;
  /** Workflow status letters, comma-separated. */
  status?: string;
  limit?: number;
}

/** Parse `R,F` into workflow status letters; an unknown letter is a 422 naming `field`. */
export function parseWorkflowStatuses(value: string, field = 'status'): WorkflowStatus[] {
  const letters = splitList(value);
  for (const l of letters) {
    if (!isWorkflowStatus(l))
      throw invalid(
        field,
        `unknown workflow status "${l}"; expected letters of ${Object.keys(WORKFLOW_STATUSES).join(',')}`,
      );
  }
  return letters as WorkflowStatus[];
}

export async function listWorkflows(db: Db, filters: WorkflowListFilters = {}): Promise<WorkflowSummary[]> {
  let query = db
    .selectFrom('workflow as w')
    .innerJoin('tool_version as tv', 'tv.id', 'w.tool_version_id')
    .innerJoin('tool as t', 't.id', 'tv.tool_id')
    .select(['w.id', 'w.name', 't.name as tool', 'w.user', 'w.status', 'w.created_date', 'w.num_tasks'])
    // Only the returned page is counted (index-only on task_workflow_status), never all workflows.
    .select((eb) =>
      eb
        .selectFrom('task as k')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('k.workflow_id', '=', 'w.id')
        .where('k.status', '=', 'D')
        .as('done'),
    );
  if (filters.user) query = query.where('w.user', '=', filters.user);
  if (filters.tool) query = query.where('t.name', '=', filters.tool);
  if (filters.name) query = query.where('w.name', 'ilike', `%${escapeLike(filters.name)}%`);
  if (filters.status) {
    const statuses = parseWorkflowStatuses(filters.status);
    if (statuses.length) query = query.where('w.status', 'in', statuses);
  }
  const rows = await query
    .orderBy('w.created_date', 'desc')
    .orderBy('w.id', 'desc')
    .limit(filters.limit ?? 20)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    tool: r.tool,
    user: r.user,
    status: r.status,
    created_date: iso(r.created_date),
    num_tasks: r.num_tasks,
    percent_done: percent(Number(r.done ?? 0), r.num_tasks),
  }));
}
