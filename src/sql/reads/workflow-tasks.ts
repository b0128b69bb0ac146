/**
 * `GET /workflows/{id}/tasks`: one page of a workflow's tasks, filtered by status (letters or
 * Jobmon's buckets), template and attribute, with the total that matches. Pages go by id: `after`
 * (the previous page's `next_cursor`) starts an index range, so a page deep in a million-task list
 * costs what the first one does; `offset` still works for clients that use it. The total comes
 * from the kept counters (status-counts) unless an attribute filter needs a count.
 *
 * What every page of one workflow needs besides its rows (that the workflow exists, its templates'
 * names, the kept counts) is one read shared by concurrent callers (shared-reads.ts): 50 clients
 * paging a big workflow cost one page query each and one context read per round, instead of four
 * round trips each, which made the API's socket writes most of its CPU.
 */
import { sql } from 'kysely';
import { invalid, notFound } from '../../domain/errors';
import { isTaskStatus, taskBucket, type TaskStatus } from '../../domain/statuses';
import type { Config } from '../../config';
import type { Db } from '../db';
import { sharedReads } from '../shared-reads';
import { statusCounts, type ArrayStatusCount } from '../status-counts';
import { BUCKET_NAMES, splitList, TASK_LETTERS } from './counts';
import type { TaskRow } from '../../contract/types';

export type { TaskRow };

export interface WorkflowTaskFilters {
  /** Task status letters or bucket names (PENDING, ...), comma-separated. */
  status?: string;
  template?: string;
  /** `key=value` of a task attribute. */
  attribute?: string;
  limit?: number;
  offset?: number;
  /** Only tasks with a larger id (keyset paging). */
  after?: number;
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

// Long: one query with its optional filters and its page (offset or cursor), and the mapping of its rows.
export async function listWorkflowTasks(
  db: Db,
  config: Config,
  workflowId: number,
  filters: WorkflowTaskFilters = {},
): Promise<{ tasks: TaskRow[]; total: number; next_cursor: number | null }> {
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
  const after = filters.after;
  const page = filters.template
    ? after === undefined
      ? base
      : base.where('k.id', '>', after)
    : base.where(
        'k.id',
        'in',
        counted(db, workflowId, statuses, attribute, after).select('k.id').orderBy('k.id').limit(limit).offset(offset),
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
    // The context is read (and its 404 given) whether or not the total comes from it.
    listContext(db, config, workflowId).then((context) =>
      attribute
        ? (filters.template ? base : counted(db, workflowId, statuses, attribute))
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
            .then((r) => Number(r.n))
        : keptTotal(context, statuses, filters.template),
    ),
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
    total,
    next_cursor: rows.length === limit ? Number(rows[rows.length - 1].id) : null,
  };
}

interface ListContext {
  arrays: { id: number; name: string }[];
  counts: ArrayStatusCount[];
}

/** A workflow's arrays with their template names, and its kept counts; 404 for an unknown workflow. */
function listContext(db: Db, config: Config, workflowId: number): Promise<ListContext> {
  return sharedContext(db, config, workflowId, async () => {
    const [{ rows: arrays }, counts] = await Promise.all([
      sql<{ id: number | null; name: string | null }>`
        select a.id, tt.name from workflow w
          left join array_ a on a.workflow_id = w.id
          left join task_template_version v on v.id = a.task_template_version_id
          left join task_template tt on tt.id = v.task_template_id
         where w.id = ${workflowId}`.execute(db),
      statusCounts(db, workflowId),
    ]);
    if (!arrays.length) throw notFound('workflow', workflowId, 'id');
    return {
      arrays: arrays.flatMap((a) => (a.id === null || a.name === null ? [] : [{ id: a.id, name: a.name }])),
      counts,
    };
  });
}

const sharedContext = sharedReads<ListContext>();

/** The number of tasks matching status and template filters (the whole list), from the kept counters. */
function keptTotal(context: ListContext, statuses: TaskStatus[], template: string | undefined): number {
  const wanted = new Set(context.arrays.filter((a) => template === undefined || a.name === template).map((a) => a.id));
  return context.counts
    .filter((c) => wanted.has(c.array_id) && (statuses.length === 0 || statuses.includes(c.status)))
    .reduce((n, c) => n + c.n, 0);
}

/**
 * The tasks a list counts, without the template joins when no template filter needs them: the
 * count is then an index scan of task_workflow_status instead of a four-table join over every
 * task of the workflow (a page of a 100,000-task list paid for that join on every request).
 */
function counted(
  db: Db,
  workflowId: number,
  statuses: TaskStatus[],
  attribute?: { key: string; value: string },
  after?: number,
) {
  let q = db.selectFrom('task as k').where('k.workflow_id', '=', workflowId);
  if (statuses.length) q = q.where('k.status', 'in', statuses);
  if (after !== undefined) q = q.where('k.id', '>', after);
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
