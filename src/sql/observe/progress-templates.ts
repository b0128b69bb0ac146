/**
 * The expected runtime and remaining work of each template of a workflow (docs/observers.md): the
 * median wallclock of the latest ≤ 2,000 DONE instances of the same TaskTemplate across all
 * workflows — of the same node args when such history exists (looked up only while ≤ 5,000 tasks
 * remain, so the lookup stays bounded) — else the template's median, else the requested runtime
 * (an upper bound, flagged). Remaining work = Σ remaining tasks × expected runtime (running tasks
 * count half).
 */
import { sql } from 'kysely';
import type { Db } from '../db';
import type { ArrayRow } from './progress-facts';
import type { TemplateProgress } from '../../contract/observe';
export type { TemplateProgress };

const HISTORY_LIMIT = 2000;
const NODE_ARGS_LOOKUP_MAX_REMAINING = 5000;

interface History {
  n: number;
  median: number | null;
  p90: number | null;
}
/** Work left of the tasks whose node args have history, per array. */
interface NodeArgsWork {
  work: number;
  covered: number;
}

export async function readTemplateProgress(
  db: Db,
  workflowId: number,
  arrays: ArrayRow[],
): Promise<TemplateProgress[]> {
  const [history, nodeWork] = await Promise.all([readHistory(db, arrays), readNodeArgsWork(db, workflowId, arrays)]);
  return arrays.map((a) => templateProgress(a, history.get(a.tt_id), nodeWork.get(a.array_id)));
}

/** Runtime history per task template, across all workflows. */
async function readHistory(db: Db, arrays: ArrayRow[]): Promise<Map<number, History>> {
  const ttIds = [...new Set(arrays.map((a) => a.tt_id))];
  const history = new Map<number, History>();
  if (!ttIds.length) return history;
  const { rows } = await sql<{ tt_id: number; n: number; median: number | null; p90: number | null }>`
    select t.tt_id, h.n, h.median, h.p90
      from unnest(${ttIds}::int[]) as t(tt_id)
      cross join lateral (
        select count(*)::int as n,
               percentile_cont(0.5) within group (order by x.wallclock_s) as median,
               percentile_cont(0.9) within group (order by x.wallclock_s) as p90
          from (select ti.wallclock_s from task_instance ti
                 where ti.status = 'D' and ti.wallclock_s is not null
                   and ti.array_id in (select a.id from array_ a join task_template_version v on v.id = a.task_template_version_id
                                        where v.task_template_id = t.tt_id)
                 order by ti.id desc limit ${HISTORY_LIMIT}) x) h`.execute(db);
  for (const r of rows) history.set(r.tt_id, { n: r.n, median: r.median, p90: r.p90 });
  return history;
}

/** Same node args' history, while the remaining set is small enough to look up group by group. */
async function readNodeArgsWork(db: Db, workflowId: number, arrays: ArrayRow[]): Promise<Map<number, NodeArgsWork>> {
  const remainingTotal = arrays.reduce((s, a) => s + a.total - a.done - a.fatal, 0);
  const nodeWork = new Map<number, NodeArgsWork>();
  if (remainingTotal <= 0 || remainingTotal > NODE_ARGS_LOOKUP_MAX_REMAINING) return nodeWork;
  const { rows } = await sql<{ array_id: number; n: number; running: number; median: number | null }>`
    with rem as (
      select k.array_id, k.node_args_hash, count(*)::int as n, count(*) filter (where k.status = 'R')::int as running
        from task k where k.workflow_id = ${workflowId} and k.status not in ('D','F')
       group by k.array_id, k.node_args_hash)
    select rem.array_id, rem.n, rem.running, h.median
      from rem
      join array_ a on a.id = rem.array_id
      join task_template_version v on v.id = a.task_template_version_id
      cross join lateral (
        select percentile_cont(0.5) within group (order by x.wallclock_s) as median
          from (select ti.wallclock_s
                  from array_ a2
                  join task_template_version v2 on v2.id = a2.task_template_version_id
                  join task k2 on k2.array_id = a2.id and k2.node_args_hash = rem.node_args_hash
                  join task_instance ti on ti.task_id = k2.id
                 where v2.task_template_id = v.task_template_id and ti.status = 'D' and ti.wallclock_s is not null
                 order by ti.id desc limit 50) x) h`.execute(db);
  for (const r of rows) {
    if (r.median === null) continue;
    const entry = nodeWork.get(r.array_id) ?? { work: 0, covered: 0 };
    entry.work += (r.n - r.running / 2) * r.median;
    entry.covered += r.n;
    nodeWork.set(r.array_id, entry);
  }
  return nodeWork;
}

function templateProgress(a: ArrayRow, h: History | undefined, nw: NodeArgsWork | undefined): TemplateProgress {
  const remaining = a.total - a.done - a.fatal;
  let expected: number | null = null;
  let basis: TemplateProgress['basis'] = 'none';
  if (h && h.n > 0 && h.median !== null) {
    expected = h.median;
    basis = 'template_history';
  } else if (a.requested_runtime) {
    expected = a.requested_runtime;
    basis = 'requested_runtime';
  }
  let work = expected === null ? 0 : Math.max(0, remaining - a.running / 2) * expected;
  if (nw && nw.covered > 0) {
    const uncovered = Math.max(0, remaining - nw.covered);
    work = nw.work + (expected ?? 0) * uncovered;
    if (nw.covered === remaining) basis = 'node_args';
  }
  return {
    name: a.name,
    max_concurrently_running: a.lim,
    total: a.total,
    done: a.done,
    remaining,
    running: a.running,
    fatal: a.fatal,
    percent_done: a.total ? Math.round((a.done / a.total) * 1000) / 10 : 0,
    expected_runtime_s: expected,
    basis,
    history_instances: h?.n ?? 0,
    history_median_s: h?.median ?? null,
    history_p90_s: h?.p90 ?? null,
    remaining_work_s: work,
  };
}
