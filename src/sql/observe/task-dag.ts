/**
 * The task-level DAG of a small workflow (issue 6, part 3): every task with its status and its
 * longest-path level, every edge, and which tasks and edges lie on a path to a failed task. Big
 * workflows are refused: a picture of thousands of boxes answers nothing, and the template-level
 * DAG (./dag.ts) is the view for them.
 */
import { sql } from 'kysely';
import { longestPathLevels } from '../../domain/dag-levels';
import { JobmonError } from '../../domain/errors';
import { TASK_STATUSES, taskBucket, type TaskBucket, type TaskStatus } from '../../domain/statuses';
import type { Db } from '../db';
import { assertWorkflow } from './util';
import type { TaskDagTask, TaskDagEdge, TaskDag } from '../../contract/observe';
export type { TaskDagTask, TaskDagEdge, TaskDag };

/**
 * At most this many tasks are drawn one by one. 300 boxes still fit a scrollable picture a person
 * can read and a layout the browser computes instantly; the API, CLI and GUI all name this number.
 */
export const TASK_DAG_LIMIT = 300;

export async function taskDag(db: Db, workflowId: number, limit = TASK_DAG_LIMIT): Promise<TaskDag> {
  await assertWorkflow(db, workflowId);
  // Count at most limit + 1 rows so a million-task workflow is refused as fast as a small one.
  const { rows: countRows } = await sql<{ n: number; num_tasks: number }>`
    select (select count(*)::int from (select 1 from task where workflow_id = ${workflowId} limit ${limit + 1}) s) as n,
           (select num_tasks from workflow where id = ${workflowId}) as num_tasks`.execute(db);
  if (countRows[0].n > limit) {
    throw new JobmonError(
      'too_large',
      `workflow ${workflowId} has ${Math.max(countRows[0].num_tasks, countRows[0].n)} tasks; the task-level DAG is drawn for workflows of at most ${limit} tasks (the template-level DAG shows any size)`,
      'id',
      'task_dag_too_large',
    );
  }
  const [taskRows, edgeRows] = await Promise.all([
    sql<{ id: string; name: string; template: string; status: TaskStatus }>`
      select k.id, k.name, tt.name as template, k.status
        from task k join array_ a on a.id = k.array_id
        join task_template_version v on v.id = a.task_template_version_id
        join task_template tt on tt.id = v.task_template_id
       where k.workflow_id = ${workflowId}
       order by k.id`.execute(db),
    sql<{ up: string; down: string }>`
      select d.upstream_task_id as up, d.downstream_task_id as down
        from task_dependency d join task k on k.id = d.upstream_task_id
       where k.workflow_id = ${workflowId}
       order by 1, 2`.execute(db),
  ]);
  const ids = taskRows.rows.map((r) => Number(r.id));
  const index = new Map(ids.map((id, i) => [id, i]));
  const edges = edgeRows.rows
    .map((r) => ({ from: Number(r.up), to: Number(r.down) }))
    .filter((e) => index.has(e.from) && index.has(e.to));
  const statuses = taskRows.rows.map((r) => r.status);
  const level = longestPathLevels(
    ids.length,
    edges.map((e) => [index.get(e.from)!, index.get(e.to)!] as const),
  );
  const blocked = blockedByFailure(
    statuses,
    edges.map((e) => [index.get(e.from)!, index.get(e.to)!] as const),
  );

  const buckets: Record<TaskBucket, number> = { PENDING: 0, SCHEDULED: 0, RUNNING: 0, DONE: 0, FATAL: 0 };
  const tasks: TaskDagTask[] = taskRows.rows.map((r, i) => {
    const bucket = taskBucket(r.status);
    buckets[bucket]++;
    return {
      id: ids[i],
      name: r.name,
      template: r.template,
      status: r.status,
      status_label: TASK_STATUSES[r.status],
      bucket,
      level: level[i],
      blocked_by_failure: blocked[i],
    };
  });
  tasks.sort((a, b) => a.level - b.level || a.id - b.id);
  return {
    workflow_id: workflowId,
    limit,
    num_tasks: tasks.length,
    levels: tasks.length ? Math.max(...level) + 1 : 0,
    buckets,
    failed: buckets.FATAL,
    blocked_by_failure: blocked.filter(Boolean).length,
    tasks,
    edges: edges.map((e) => {
      const up = index.get(e.from)!;
      const down = index.get(e.to)!;
      return { ...e, on_failure_path: blocked[down] && (statuses[up] === 'F' || blocked[up]) };
    }),
  };
}

/** Tasks that wait on a failed task through not-DONE tasks: a walk downstream from every F task. */
function blockedByFailure(statuses: readonly TaskStatus[], edges: readonly (readonly [number, number])[]): boolean[] {
  const down: number[][] = statuses.map(() => []);
  for (const [a, b] of edges) down[a].push(b);
  const blocked = statuses.map(() => false);
  const stack: number[] = [];
  statuses.forEach((s, i) => {
    if (s === 'F') stack.push(i);
  });
  while (stack.length) {
    const a = stack.pop()!;
    for (const b of down[a]) {
      // A DONE task finished before the failure mattered (or on an earlier run), and an F task is
      // shown as failed, not as blocked: the walk stops at both.
      if (blocked[b] || statuses[b] === 'D' || statuses[b] === 'F') continue;
      blocked[b] = true;
      stack.push(b);
    }
  }
  return blocked;
}
