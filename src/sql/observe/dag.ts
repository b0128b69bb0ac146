/**
 * The DAG for debugging: a task's upstream and downstream neighbourhood, the paths from a task up
 * to the failed tasks that block it, and the template-level graph with counts per status.
 */
import { sql } from 'kysely';
import { JobmonError } from '../../domain/errors';
import { taskBucket, type TaskStatus } from '../../domain/statuses';
import type { Db } from '../db';
import { notFound } from '../../domain/errors';
import { assertWorkflow } from './util';
import type { DepTask, TaskDeps, FailurePaths, TemplateDag } from '../../contract/observe';
export type { DepTask, TaskDeps, FailurePaths, TemplateDag };

const MAX_NEIGHBOURS = 500;

async function taskHead(db: Db, taskId: number) {
  const { rows } = await sql<{ id: number; name: string; template: string; status: TaskStatus; workflow_id: number }>`
    select k.id, k.name, tt.name as template, k.status, k.workflow_id
      from task k join array_ a on a.id = k.array_id
      join task_template_version v on v.id = a.task_template_version_id
      join task_template tt on tt.id = v.task_template_id
     where k.id = ${taskId}`.execute(db);
  if (!rows[0]) throw notFound('task', taskId, 'id');
  return { ...rows[0], id: Number(rows[0].id) };
}

export async function taskDependencies(db: Db, taskId: number, depth = 1): Promise<TaskDeps> {
  if (!Number.isInteger(depth) || depth < 1 || depth > 50)
    throw new JobmonError('invalid', 'depth must be between 1 and 50', 'depth', 'invalid');
  const task = await taskHead(db, taskId);
  const walk = async (direction: 'up' | 'down') => {
    const [from, to] =
      direction === 'up' ? ['downstream_task_id', 'upstream_task_id'] : ['upstream_task_id', 'downstream_task_id'];
    const { rows } = await sql<DepTask>`
      with recursive walk(id, depth) as (
        select d.${sql.raw(to)}, 1 from task_dependency d where d.${sql.raw(from)} = ${taskId}
        union
        select d.${sql.raw(to)}, w.depth + 1 from walk w join task_dependency d on d.${sql.raw(from)} = w.id
         where w.depth < ${depth}),
      nearest as (select id, min(depth) as depth from walk group by id)
      select k.id, k.name, tt.name as template, k.status, n.depth
        from nearest n join task k on k.id = n.id
        join array_ a on a.id = k.array_id
        join task_template_version v on v.id = a.task_template_version_id
        join task_template tt on tt.id = v.task_template_id
       order by n.depth, k.id limit ${MAX_NEIGHBOURS + 1}`.execute(db);
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  };
  const [up, down] = await Promise.all([walk('up'), walk('down')]);
  return {
    task,
    upstream: up.slice(0, MAX_NEIGHBOURS),
    downstream: down.slice(0, MAX_NEIGHBOURS),
    upstream_truncated: up.length > MAX_NEIGHBOURS,
    downstream_truncated: down.length > MAX_NEIGHBOURS,
    depth,
  };
}

/**
 * Why is this task not running? Upstream paths that end at a task in ERROR_FATAL, shortest first
 * (≤ 10 paths, searched up to 100 levels; only not-DONE tasks are followed, since a DONE upstream
 * blocks nothing).
 */
export async function failurePaths(db: Db, taskId: number): Promise<FailurePaths> {
  const task = await taskHead(db, taskId);
  const { rows } = await sql<{ id: number; name: string; template: string; path: number[] }>`
    with recursive walk(id, path, depth) as (
      select ${taskId}::bigint, array[${taskId}::bigint], 0
      union all
      select d.upstream_task_id, w.path || d.upstream_task_id, w.depth + 1
        from walk w join task_dependency d on d.downstream_task_id = w.id
        join task u on u.id = d.upstream_task_id and u.status <> 'D'
       where w.depth < 100 and not d.upstream_task_id = any(w.path))
    select distinct on (w.id) w.id, k.name, tt.name as template, w.path
      from walk w join task k on k.id = w.id
      join array_ a on a.id = k.array_id
      join task_template_version v on v.id = a.task_template_version_id
      join task_template tt on tt.id = v.task_template_id
     where k.status = 'F' and w.id <> ${taskId}
     order by w.id, w.depth
     limit 200`.execute(db);
  const paths = rows
    .map((r) => ({
      failed_task_id: Number(r.id),
      failed_task_name: r.name,
      failed_template: r.template,
      path: r.path.map(Number),
    }))
    .sort((a, b) => a.path.length - b.path.length);
  let note: string | null = null;
  if (task.status === 'F') note = 'this task itself failed for good';
  else if (!paths.length)
    note =
      task.status === 'D'
        ? 'this task is done'
        : 'no failed task upstream: it waits for running or pending upstream tasks, or for a slot';
  return { task_id: taskId, paths: paths.slice(0, 10), failed_upstream: paths.length, note };
}

const dagCache = new Map<string, TemplateDag['edges']>();

/** Template-level graph: one node per template with bucket counts; edges counted over task edges. */
export async function templateDag(db: Db, workflowId: number): Promise<TemplateDag> {
  await assertWorkflow(db, workflowId);
  const [counts, hash] = await Promise.all([
    sql<{ template: string; status: TaskStatus | null; n: number | null }>`
      select tt.name as template, c.status, c.n
        from array_ a join task_template_version v on v.id = a.task_template_version_id
        join task_template tt on tt.id = v.task_template_id
        left join lateral (
          select status, sum(n)::int as n from task_status_count
           where workflow_id = a.workflow_id and array_id = a.id group by status having sum(n) <> 0) c on true
       where a.workflow_id = ${workflowId}`.execute(db),
    sql<{ dag_hash: string }>`select dag_hash from workflow where id = ${workflowId}`.execute(db),
  ]);
  // The edges of a bound workflow never change (same dag_hash ⇒ same DAG): computed once per process.
  const key = `${workflowId}:${hash.rows[0].dag_hash}`;
  let edges = dagCache.get(key);
  if (!edges) {
    const { rows } = await sql<{ from: string; to: string; n: number }>`
      with e as (
        select ku.array_id as up, kd.array_id as down, count(*)::int as n
          from task ku join task_dependency d on d.upstream_task_id = ku.id
          join task kd on kd.id = d.downstream_task_id
         where ku.workflow_id = ${workflowId}
         group by 1, 2)
      select tu.name as from, td.name as to, sum(e.n)::int as n
        from e
        join array_ au on au.id = e.up join task_template_version vu on vu.id = au.task_template_version_id join task_template tu on tu.id = vu.task_template_id
        join array_ ad on ad.id = e.down join task_template_version vd on vd.id = ad.task_template_version_id join task_template td on td.id = vd.task_template_id
       group by 1, 2 order by 1, 2`.execute(db);
    edges = rows.map((r) => ({ from: r.from, to: r.to, task_edges: r.n }));
    if (dagCache.size > 1000) dagCache.clear();
    dagCache.set(key, edges);
  }
  const nodes = new Map<string, TemplateDag['nodes'][number]>();
  for (const r of counts.rows) {
    let n = nodes.get(r.template);
    if (!n) {
      n = { template: r.template, total: 0, buckets: { PENDING: 0, SCHEDULED: 0, RUNNING: 0, DONE: 0, FATAL: 0 } };
      nodes.set(r.template, n);
    }
    if (r.status === null) continue;
    n.total += Number(r.n);
    n.buckets[taskBucket(r.status)] += Number(r.n);
  }
  return { workflow_id: workflowId, nodes: [...nodes.values()], edges };
}
