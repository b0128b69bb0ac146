/**
 * `GET /workflows/{id}/tasks`: one page of a workflow's tasks, filtered by status (letters or
 * Jobmon's buckets), template and attribute, with the total that matches.
 */
import { sql } from 'kysely';
import { invalid, notFound } from '../../domain/errors';
import { isTaskStatus, taskBucket, type TaskStatus } from '../../domain/statuses';
import type { Db } from '../db';
import { BUCKET_NAMES, splitList, TASK_LETTERS } from './counts';

export interface WorkflowTaskFilters {
  /** Task status letters or bucket names (PENDING, ...), comma-separated. */
  status?: string;
  template?: string;
  /** `key=value` of a task attribute. */
  attribute?: string;
  limit?: number;
  offset?: number;
}
export interface TaskRow {
  id: number;
  /** The control script's key for the task at its last bind (null: bound before migration 0017). */
  key: string | null;
  name: string;
  template: string;
  node_args: Record<string, string>;
  status: TaskStatus;
  num_attempts: number;
  max_attempts: number;
}

/** `G,F` or `PENDING,FATAL` (Jobmon's CLI buckets) into task status letters. */
export function parseTaskStatuses(value: string, field = 'status'): TaskStatus[] {
  const out = new Set<TaskStatus>();
  for (const item of splitList(value)) {
    const upper = item.toUpperCase();
    if (isTaskStatus(item)) out.add(item);
    else if ((BUCKET_NAMES as readonly string[]).includes(upper)) {
      for (const l of TASK_LETTERS) if (taskBucket(l) === upper) out.add(l);
    } else {
      throw invalid(
        field,
        `unknown task status "${item}"; expected letters of ${TASK_LETTERS.join(',')} or ${BUCKET_NAMES.join(', ')}`,
      );
    }
  }
  return [...out];
}

export async function listWorkflowTasks(
  db: Db,
  workflowId: number,
  filters: WorkflowTaskFilters = {},
): Promise<{ tasks: TaskRow[]; total: number }> {
  const exists = await db.selectFrom('workflow').select('id').where('id', '=', workflowId).executeTakeFirst();
  if (!exists) throw notFound('workflow', workflowId, 'id');

  const statuses = filters.status ? parseTaskStatuses(filters.status) : [];
  let attribute: { key: string; value: string } | undefined;
  if (filters.attribute !== undefined) {
    const eq = filters.attribute.indexOf('=');
    if (eq <= 0) throw invalid('attribute', 'attribute filter must be key=value');
    attribute = { key: filters.attribute.slice(0, eq), value: filters.attribute.slice(eq + 1) };
  }

  let base = db
    .selectFrom('task as k')
    .innerJoin('array_ as a', 'a.id', 'k.array_id')
    .innerJoin('task_template_version as ttv', 'ttv.id', 'a.task_template_version_id')
    .innerJoin('task_template as tt', 'tt.id', 'ttv.task_template_id')
    .where('k.workflow_id', '=', workflowId);
  if (statuses.length) base = base.where('k.status', 'in', statuses);
  if (filters.template) base = base.where('tt.name', '=', filters.template);
  if (attribute) {
    const { key, value } = attribute;
    base = base.where((eb) =>
      eb.exists(
        eb
          .selectFrom('task_attribute as ta')
          .select(sql.lit(1).as('one'))
          .whereRef('ta.task_id', '=', 'k.id')
          .where('ta.key', '=', key)
          .where('ta.value', '=', value),
      ),
    );
  }

  const limit = filters.limit ?? 100;
  const offset = filters.offset ?? 0;
  // Without a template filter the page is chosen on `task` alone and only its rows are joined to
  // the template tables: a deep page (offset 90,000) otherwise joined every row it skipped.
  const page = filters.template
    ? base
    : base.where(
        'k.id',
        'in',
        counted(db, workflowId, statuses, attribute).select('k.id').orderBy('k.id').limit(limit).offset(offset),
      );
  const [rows, total] = await Promise.all([
    page
      .select([
        'k.id',
        'k.key',
        'k.name',
        'tt.name as template',
        'k.node_args',
        'k.status',
        'k.num_attempts',
        'k.max_attempts',
      ])
      .orderBy('k.id')
      .limit(limit)
      .offset(filters.template ? offset : 0)
      .execute(),
    (filters.template ? base : counted(db, workflowId, statuses, attribute))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return {
    tasks: rows.map((r) => ({
      id: Number(r.id),
      key: r.key,
      name: r.name,
      template: r.template,
      node_args: r.node_args,
      status: r.status,
      num_attempts: r.num_attempts,
      max_attempts: r.max_attempts,
    })),
    total: Number(total.n),
  };
}

/**
 * The tasks a list counts, without the template joins when no template filter needs them: the
 * count is then an index scan of task_workflow_status instead of a four-table join over every
 * task of the workflow (a page of a 100,000-task list paid for that join on every request).
 */
function counted(db: Db, workflowId: number, statuses: TaskStatus[], attribute?: { key: string; value: string }) {
  let q = db.selectFrom('task as k').where('k.workflow_id', '=', workflowId);
  if (statuses.length) q = q.where('k.status', 'in', statuses);
  if (attribute) {
    const { key, value } = attribute;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('task_attribute as ta')
          .select(sql.lit(1).as('one'))
          .whereRef('ta.task_id', '=', 'k.id')
          .where('ta.key', '=', key)
          .where('ta.value', '=', value),
      ),
    );
  }
  return q;
}
