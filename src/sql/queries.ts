/**
 * Reads behind the API's GET routes and the CLI's status views. Every count is a GROUP BY that
 * Postgres answers from an index (task_array(array_id, status), task_workflow_status), so a status
 * of a 100,000-task workflow stays a few milliseconds and no task list is ever loaded into Node.
 * Dates leave as ISO strings: these rows go straight to JSON.
 */
import { sql } from 'kysely';
import type { Config } from '../config';
import { temporalUiUrl } from '../temporal/ids';
import { invalid, JobmonError } from '../domain/errors';
import {
  TASK_INSTANCE_STATUSES,
  TASK_STATUSES,
  WORKFLOW_RUN_STATUSES,
  WORKFLOW_STATUSES,
  taskBucket,
  type TaskBucket,
  type TaskInstanceStatus,
  type TaskStatus,
  type WorkflowRunStatus,
  type WorkflowStatus,
} from '../domain/statuses';
import type { Db } from './db';
import { sharedReads } from './shared-reads';

export type Buckets = Record<TaskBucket, number>;
export type StatusCounts = Record<TaskStatus, number>;

const TASK_LETTERS = Object.keys(TASK_STATUSES) as TaskStatus[];
const BUCKET_NAMES: readonly TaskBucket[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'];

/**
 * Takes `unknown` because schema.ts types defaulted dates as `Generated<Timestamp>`, whose select
 * type Kysely leaves as the ColumnType wrapper; at run time pg always hands back a Date.
 */
function iso(d: unknown): string {
  if (d instanceof Date) return d.toISOString();
  if (typeof d === 'string') return new Date(d).toISOString();
  throw new Error(`expected a timestamp, got ${typeof d}`);
}
const isoOrNull = (d: unknown): string | null => (d === null || d === undefined ? null : iso(d));
const emptyCounts = (): StatusCounts => Object.fromEntries(TASK_LETTERS.map((l) => [l, 0])) as StatusCounts;
const emptyBuckets = (): Buckets => ({ PENDING: 0, SCHEDULED: 0, RUNNING: 0, DONE: 0, FATAL: 0 });
/** One decimal, as Jobmon's CLI shows it; an empty workflow is 0 % done, not NaN. */
const percent = (done: number, total: number): number => (total > 0 ? Math.round((done / total) * 1000) / 10 : 0);

function notFoundField(what: string, id: number): JobmonError {
  return new JobmonError('not_found', `${what} ${id} not found`, 'id', 'not_found');
}

// ---------------------------------------------------------------- workflow status

export interface WorkflowStatusView {
  workflow_id: number;
  name: string;
  tool: string;
  user: string;
  workflow_args: string;
  status: WorkflowStatus;
  status_label: string;
  num_tasks: number;
  counts: StatusCounts;
  buckets: Buckets;
  percent_done: number;
  max_concurrently_running: number;
  templates: { name: string; max_concurrently_running: number; buckets: Buckets }[];
  run: {
    id: number;
    status: WorkflowRunStatus;
    status_label: string;
    temporal_workflow_id: string;
    temporal_run_id: string | null;
    temporal_ui_url: string;
    created_date: string;
  } | null;
}

/** The status of a workflow; concurrent callers share one read (shared-reads.ts). */
export function getWorkflowStatus(db: Db, config: Config, workflowId: number): Promise<WorkflowStatusView> {
  return sharedStatus(db, config, workflowId, () => readWorkflowStatus(db, config, workflowId));
}

const sharedStatus = sharedReads<WorkflowStatusView>();

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
  if (!wf) throw notFoundField('workflow', workflowId);

  // Per array (= template in this workflow) and status. The lateral count per array is an
  // index-only scan of task_array(array_id, status); a plain join + GROUP BY over the same rows
  // read the heap and measured ~5x slower at 100,000 tasks.
  const [perArray, run] = await Promise.all([
    sql<{
      array_id: number;
      name: string;
      max_concurrently_running: number;
      status: TaskStatus | null;
      n: number | null;
    }>`
      select a.id as array_id, tt.name, a.max_concurrently_running, c.status, c.n
        from array_ a
        join task_template_version ttv on ttv.id = a.task_template_version_id
        join task_template tt on tt.id = ttv.task_template_id
        left join lateral (
          select k.status, count(*)::int as n from task k where k.array_id = a.id group by k.status
        ) c on true
       where a.workflow_id = ${workflowId}`
      .execute(db)
      .then((r) => r.rows),
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
  for (const row of perArray) {
    let template = templates.get(row.array_id);
    if (!template) {
      template = { name: row.name, max_concurrently_running: row.max_concurrently_running, buckets: emptyBuckets() };
      templates.set(row.array_id, template);
    }
    // A template with no tasks yields one row with a NULL status (left join).
    if (row.status === null) continue;
    const n = Number(row.n);
    const status = row.status;
    counts[status] += n;
    buckets[taskBucket(status)] += n;
    template.buckets[taskBucket(status)] += n;
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

// ---------------------------------------------------------------- workflow list

export interface WorkflowListFilters {
  user?: string;
  tool?: string;
  /** Substring of the workflow name, case-insensitive. */
  name?: string;
  /** Workflow status letters, comma-separated. */
  status?: string;
  limit?: number;
}
export interface WorkflowSummary {
  id: number;
  name: string;
  tool: string;
  user: string;
  status: WorkflowStatus;
  created_date: string;
  num_tasks: number;
  percent_done: number;
}

/** Parse `R,F` into workflow status letters; an unknown letter is a 422 naming `field`. */
export function parseWorkflowStatuses(value: string, field = 'status'): WorkflowStatus[] {
  const letters = splitList(value);
  for (const l of letters) {
    if (!(l in WORKFLOW_STATUSES))
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

// ---------------------------------------------------------------- tasks of a workflow

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
  name: string;
  template: string;
  status: TaskStatus;
  num_attempts: number;
  max_attempts: number;
}

/** `G,F` or `PENDING,FATAL` (Jobmon's CLI buckets) into task status letters. */
export function parseTaskStatuses(value: string, field = 'status'): TaskStatus[] {
  const out = new Set<TaskStatus>();
  for (const item of splitList(value)) {
    const upper = item.toUpperCase();
    if (item in TASK_STATUSES) out.add(item as TaskStatus);
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
  if (!exists) throw notFoundField('workflow', workflowId);

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
      .select(['k.id', 'k.name', 'tt.name as template', 'k.status', 'k.num_attempts', 'k.max_attempts'])
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
      name: r.name,
      template: r.template,
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

// ---------------------------------------------------------------- one task

export interface TaskDetails {
  task: {
    id: number;
    workflow_id: number;
    name: string;
    template: string;
    status: TaskStatus;
    status_label: string;
    status_date: string;
    command: string;
    num_attempts: number;
    max_attempts: number;
    node_args: Record<string, string>;
    task_args: Record<string, string>;
    op_args: Record<string, string>;
    cluster_name: string;
    queue: string;
    resources: Record<string, unknown>;
    upstream_count: number;
    upstream_remaining: number;
    attributes: Record<string, string>;
  };
  instances: {
    id: number;
    workflow_run_id: number;
    status: TaskInstanceStatus;
    status_label: string;
    distributor_id: string | null;
    nodename: string | null;
    exit_code: number | null;
    wallclock_s: number | null;
    maxrss_bytes: number | null;
    stdout_path: string | null;
    stderr_path: string | null;
    submitted_date: string | null;
    status_date: string;
    errors: { error_time: string; description: string }[];
  }[];
}

export async function getTaskDetails(db: Db, taskId: number): Promise<TaskDetails> {
  const task = await db
    .selectFrom('task as k')
    .innerJoin('array_ as a', 'a.id', 'k.array_id')
    .innerJoin('task_template_version as ttv', 'ttv.id', 'a.task_template_version_id')
    .innerJoin('task_template as tt', 'tt.id', 'ttv.task_template_id')
    .innerJoin('task_resources as r', 'r.id', 'k.task_resources_id')
    .select([
      'k.id',
      'k.workflow_id',
      'k.name',
      'tt.name as template',
      'k.status',
      'k.status_date',
      'k.command',
      'k.num_attempts',
      'k.max_attempts',
      'k.node_args',
      'k.task_args',
      'k.op_args',
      'r.cluster_name',
      'r.queue',
      'r.requested_resources',
      'k.upstream_count',
      'k.upstream_remaining',
    ])
    .where('k.id', '=', taskId)
    .executeTakeFirst();
  if (!task) throw notFoundField('task', taskId);

  const [attributes, instances] = await Promise.all([
    db.selectFrom('task_attribute').select(['key', 'value']).where('task_id', '=', taskId).orderBy('key').execute(),
    db
      .selectFrom('task_instance')
      .select([
        'id',
        'workflow_run_id',
        'status',
        'distributor_id',
        'nodename',
        'exit_code',
        'wallclock_s',
        'maxrss_bytes',
        'stdout_path',
        'stderr_path',
        'submitted_date',
        'status_date',
      ])
      .where('task_id', '=', taskId)
      .orderBy('id')
      .execute(),
  ]);
  const errors = instances.length
    ? await db
        .selectFrom('task_instance_error_log')
        .select(['task_instance_id', 'error_time', 'description'])
        .where(
          'task_instance_id',
          'in',
          instances.map((i) => i.id),
        )
        .orderBy('id')
        .execute()
    : [];
  const errorsByInstance = new Map<number, { error_time: string; description: string }[]>();
  for (const e of errors) {
    const key = Number(e.task_instance_id);
    const list = errorsByInstance.get(key) ?? [];
    list.push({ error_time: iso(e.error_time), description: e.description });
    errorsByInstance.set(key, list);
  }

  return {
    task: {
      id: Number(task.id),
      workflow_id: task.workflow_id,
      name: task.name,
      template: task.template,
      status: task.status,
      status_label: TASK_STATUSES[task.status],
      status_date: iso(task.status_date),
      command: task.command,
      num_attempts: task.num_attempts,
      max_attempts: task.max_attempts,
      node_args: task.node_args,
      task_args: task.task_args,
      op_args: task.op_args,
      cluster_name: task.cluster_name,
      queue: task.queue,
      resources: task.requested_resources as Record<string, unknown>,
      upstream_count: task.upstream_count,
      upstream_remaining: task.upstream_remaining,
      attributes: Object.fromEntries(attributes.map((a) => [a.key, a.value])),
    },
    instances: instances.map((i) => ({
      id: Number(i.id),
      workflow_run_id: i.workflow_run_id,
      status: i.status,
      status_label: TASK_INSTANCE_STATUSES[i.status],
      distributor_id: i.distributor_id,
      nodename: i.nodename,
      exit_code: i.exit_code,
      wallclock_s: i.wallclock_s,
      maxrss_bytes: i.maxrss_bytes === null ? null : Number(i.maxrss_bytes),
      stdout_path: i.stdout_path,
      stderr_path: i.stderr_path,
      submitted_date: isoOrNull(i.submitted_date),
      status_date: iso(i.status_date),
      errors: errorsByInstance.get(Number(i.id)) ?? [],
    })),
  };
}

// ---------------------------------------------------------------- recent errors

export interface ErrorRow {
  task_instance_id: number;
  task_id: number;
  task_name: string;
  error_time: string;
  description: string;
}

export async function listWorkflowErrors(db: Db, workflowId: number, limit = 20): Promise<ErrorRow[]> {
  const exists = await db.selectFrom('workflow').select('id').where('id', '=', workflowId).executeTakeFirst();
  if (!exists) throw notFoundField('workflow', workflowId);
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

// ---------------------------------------------------------------- helpers

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `%` and `_` in a user's search text are literal, not wildcards. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
