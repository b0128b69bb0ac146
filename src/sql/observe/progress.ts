/**
 * "Is it done yet?": counts, time spent, an ETA from history, and risks, for one workflow.
 *
 * ETA (docs/observers.md): for each template of the workflow, the expected runtime of a task is the
 * median wallclock of the latest ≤ 2,000 DONE instances of the same TaskTemplate across all
 * workflows — of the same node args when such history exists (looked up only while ≤ 5,000 tasks
 * remain, so the lookup stays bounded) — else the template's median, else the requested runtime
 * (an upper bound, flagged). Remaining work = Σ remaining tasks × expected runtime (running tasks
 * count half). ETA = work / effective concurrency, never less than one task's runtime and never
 * less than any template's work over its own limit. Effective concurrency = the parallelism
 * observed over the last 15 minutes (or the tasks running now, whichever is higher), capped by the
 * workflow's limit; with nothing running, the limit capped by the remaining tasks.
 *
 * Every statement is a GROUP BY or a bounded lookup on an index (task_array, task_instance_run_status,
 * task_instance_workflow_ended, task_instance_done_history); nothing loads the task list.
 */
import { sql } from 'kysely';
import type { Config } from '../../config';
import { getWorkflowStatus, type WorkflowStatusView } from '../reads/workflow-status';
import type { Db } from '../db';
import { sharedReads } from '../shared-reads';
import { isoOrNull } from '../dates';
import { humanDuration } from './util';

const HISTORY_LIMIT = 2000;
const NODE_ARGS_LOOKUP_MAX_REMAINING = 5000;
const WINDOW_S = 15 * 60;
/** No task finished for this long (or 3 × the slowest template's p90, if longer) while a run is active. */
const NO_PROGRESS_S = 30 * 60;
/** Launched on the cluster but not started for this long. */
const PENDING_LONG_S = 30 * 60;

export type RiskKind =
  | 'fatal_tasks'
  | 'near_max_attempts'
  | 'repeated_resource_errors'
  | 'template_failing_often'
  | 'no_progress'
  | 'pending_long';

export interface Risk {
  kind: RiskKind;
  severity: 'high' | 'medium';
  message: string;
  count: number;
  template?: string;
  example_task_ids: number[];
  action: string;
}

export interface TemplateProgress {
  name: string;
  max_concurrently_running: number;
  total: number;
  done: number;
  remaining: number;
  running: number;
  fatal: number;
  percent_done: number;
  /** Expected seconds per task, and where it came from. */
  expected_runtime_s: number | null;
  basis: 'node_args' | 'template_history' | 'requested_runtime' | 'none';
  history_instances: number;
  history_median_s: number | null;
  history_p90_s: number | null;
  remaining_work_s: number;
}

export interface WorkflowProgress {
  workflow_id: number;
  name: string;
  status: WorkflowStatusView['status'];
  status_label: string;
  num_tasks: number;
  buckets: WorkflowStatusView['buckets'];
  counts: WorkflowStatusView['counts'];
  percent_done: number;
  run: WorkflowStatusView['run'];
  run_active: boolean;
  first_run_date: string | null;
  last_task_done_date: string | null;
  wall_time_s: number;
  cpu_hours: number;
  instances: number;
  running: number;
  waiting_in_queue: number;
  queue_wait_s: { current_median: number | null; current_max: number | null; recent_median: number | null };
  concurrency: { workflow_limit: number; observed: number; effective: number };
  eta: {
    seconds: number | null;
    finish_date: string | null;
    remaining_tasks: number;
    remaining_work_s: number;
    confidence: 'history' | 'partial_history' | 'requested_runtime' | 'none' | 'finished';
    text: string;
  };
  templates: TemplateProgress[];
  risks: Risk[];
  summary: string;
  generated_date: string;
}

interface ArrayRow {
  array_id: number;
  tt_id: number;
  name: string;
  lim: number;
  total: number;
  done: number;
  running: number;
  fatal: number;
  requested_runtime: number | null;
}

/** Progress, ETA and risks of a workflow; concurrent callers share one read (shared-reads.ts). */
export function getWorkflowProgress(db: Db, config: Config, workflowId: number): Promise<WorkflowProgress> {
  return sharedProgress(db, config, workflowId, () => readWorkflowProgress(db, config, workflowId));
}

const sharedProgress = sharedReads<WorkflowProgress>();

async function readWorkflowProgress(db: Db, config: Config, workflowId: number): Promise<WorkflowProgress> {
  const status = await getWorkflowStatus(db, config, workflowId); // 404 for an unknown id
  const runIds = sql`(select id from workflow_run where workflow_id = ${workflowId})`;

  const [arrays, times, live, recent, nearMax, resourceRepeat, errorsPerArray] = await Promise.all([
    sql<ArrayRow>`
      select a.id as array_id, tt.id as tt_id, tt.name, a.max_concurrently_running as lim,
             c.total, c.done, c.running, c.fatal,
             (select (r.requested_resources->>'runtime')::float8
                from task k join task_resources r on r.id = k.task_resources_id
               where k.array_id = a.id limit 1) as requested_runtime
        from array_ a
        join task_template_version v on v.id = a.task_template_version_id
        join task_template tt on tt.id = v.task_template_id
        cross join lateral (
          select count(*)::int as total,
                 count(*) filter (where k.status = 'D')::int as done,
                 count(*) filter (where k.status = 'R')::int as running,
                 count(*) filter (where k.status = 'F')::int as fatal
            from task k where k.array_id = a.id) c
       where a.workflow_id = ${workflowId}
       order by tt.name`
      .execute(db)
      .then((r) => r.rows),
    sql<{ first_run: Date | null; last_run_end: Date | null; any_active: boolean; now: Date }>`
      select min(created_date) as first_run,
             max(status_date) filter (where status not in ('G','L','B','I','O','R','C','H')) as last_run_end,
             coalesce(bool_or(status in ('G','L','B','I','O','R','C','H')), false) as any_active,
             now() as now
        from workflow_run where workflow_id = ${workflowId}`
      .execute(db)
      .then((r) => r.rows[0]),
    sql<{
      running: number;
      waiting: number;
      running_busy_s: number;
      pending_long: number;
      wait_median: number | null;
      wait_max: number | null;
    }>`
      select count(*) filter (where status = 'R')::int as running,
             count(*) filter (where status in ('Q','I','O','B'))::int as waiting,
             coalesce(sum(extract(epoch from now() - greatest(started_date, now() - make_interval(secs => ${WINDOW_S}))))
               filter (where status = 'R' and started_date is not null), 0)::float8 as running_busy_s,
             count(*) filter (where status in ('O','B') and submitted_date < now() - make_interval(secs => ${PENDING_LONG_S}))::int as pending_long,
             percentile_cont(0.5) within group (order by extract(epoch from now() - submitted_date))
               filter (where status in ('O','B') and submitted_date is not null) as wait_median,
             max(extract(epoch from now() - submitted_date)) filter (where status in ('O','B'))::float8 as wait_max
        from task_instance
       where workflow_run_id in ${runIds} and status in ('Q','I','O','B','R')`
      .execute(db)
      .then((r) => r.rows[0]),
    sql<{
      busy_s: number;
      done_recent: number;
      wait_recent: number | null;
      cpu_s: number;
      last_done: Date | null;
      instances: number;
    }>`
      select coalesce(sum(extract(epoch from ended_date - greatest(started_date, now() - make_interval(secs => ${WINDOW_S}))))
               filter (where ended_date > now() - make_interval(secs => ${WINDOW_S}) and started_date is not null), 0)::float8 as busy_s,
             count(*) filter (where status = 'D' and ended_date > now() - make_interval(secs => ${WINDOW_S}))::int as done_recent,
             percentile_cont(0.5) within group (order by extract(epoch from started_date - submitted_date))
               filter (where ended_date > now() - make_interval(secs => ${WINDOW_S}) and started_date is not null and submitted_date is not null) as wait_recent,
             coalesce(sum(cpu_s), 0)::float8 as cpu_s,
             max(ended_date) filter (where status = 'D') as last_done,
             count(*)::int as instances
        from task_instance where workflow_id = ${workflowId}`
      .execute(db)
      .then((r) => r.rows[0]),
    sql<{ id: number; n: number }>`
      select id, count(*) over ()::int as n from task
       where workflow_id = ${workflowId} and status in ('G','A','E','Q','I','O','R')
         and num_attempts >= 2 and num_attempts >= max_attempts - 1
       order by num_attempts desc, id limit 5`
      .execute(db)
      .then((r) => r.rows),
    sql<{ task_id: number; n: number; tasks: number }>`
      select task_id, count(*)::int as n, count(*) over ()::int as tasks from task_instance
       where workflow_run_id in ${runIds} and status = 'Z'
       group by task_id having count(*) >= 2 order by n desc, task_id limit 5`
      .execute(db)
      .then((r) => r.rows),
    sql<{ array_id: number; errors: number; example: number }>`
      select array_id, count(*)::int as errors, max(task_id) as example from task_instance
       where workflow_run_id in ${runIds} and status in ('E','U','Z','W','X','F')
       group by array_id`
      .execute(db)
      .then((r) => r.rows),
  ]);

  // ---- expected runtime per template
  const ttIds = [...new Set(arrays.map((a) => a.tt_id))];
  const history = new Map<number, { n: number; median: number | null; p90: number | null }>();
  if (ttIds.length) {
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
  }

  // Same node args' history, while the remaining set is small enough to look up group by group.
  const remainingTotal = arrays.reduce((s, a) => s + a.total - a.done - a.fatal, 0);
  const nodeWork = new Map<number, { work: number; covered: number }>();
  if (remainingTotal > 0 && remainingTotal <= NODE_ARGS_LOOKUP_MAX_REMAINING) {
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
  }

  const now = times.now;
  const templates: TemplateProgress[] = arrays.map((a) => {
    const h = history.get(a.tt_id);
    const remaining = a.total - a.done - a.fatal;
    const nw = nodeWork.get(a.array_id);
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
  });

  // ---- concurrency and ETA
  const firstRun = times.first_run;
  const windowS = firstRun ? Math.min(WINDOW_S, Math.max(1, (now.getTime() - firstRun.getTime()) / 1000)) : WINDOW_S;
  const observed = (recent.busy_s + live.running_busy_s) / windowS;
  const limit = status.max_concurrently_running;
  const runActive = Boolean(times.any_active);
  const remainingTasks = templates.reduce((s, t) => s + t.remaining, 0);
  const effective =
    live.running > 0 || observed >= 1
      ? Math.max(1, Math.min(limit, Math.max(observed, live.running)))
      : Math.max(1, Math.min(limit, remainingTasks));
  const work = templates.reduce((s, t) => s + t.remaining_work_s, 0);
  const pending = templates.filter((t) => t.remaining > 0);
  let etaSeconds: number | null = null;
  let confidence: WorkflowProgress['eta']['confidence'];
  if (remainingTasks === 0) {
    etaSeconds = 0;
    confidence = 'finished';
  } else if (pending.every((t) => t.expected_runtime_s === null)) {
    confidence = 'none';
  } else {
    const longest = Math.max(...pending.map((t) => t.expected_runtime_s ?? 0));
    const perTemplate = Math.max(
      ...pending.map((t) => t.remaining_work_s / Math.max(1, Math.min(t.max_concurrently_running, effective))),
    );
    etaSeconds = Math.max(work / effective, longest / 2, perTemplate);
    const bases = new Set(pending.map((t) => t.basis));
    confidence =
      bases.has('none') || (bases.has('requested_runtime') && bases.size > 1)
        ? 'partial_history'
        : bases.has('requested_runtime')
          ? 'requested_runtime'
          : 'history';
  }

  const end = runActive ? now : (times.last_run_end ?? now);
  const wallTime = firstRun ? Math.max(0, (end.getTime() - firstRun.getTime()) / 1000) : 0;

  // ---- risks
  const risks: Risk[] = [];
  const fatal = status.counts.F;
  if (fatal > 0) {
    const { rows } = await sql<{ id: number }>`
      select id from task where workflow_id = ${workflowId} and status = 'F' order by id limit 5`.execute(db);
    risks.push({
      kind: 'fatal_tasks',
      severity: 'high',
      count: fatal,
      message: `${fatal} task${fatal === 1 ? '' : 's'} failed for good (no attempts left); their downstream tasks will not run`,
      example_task_ids: rows.map((r) => Number(r.id)),
      action:
        'read the grouped errors, fix the cause, then resume the workflow (failed tasks get a fresh attempt budget)',
    });
  }
  if (nearMax.length) {
    risks.push({
      kind: 'near_max_attempts',
      severity: 'medium',
      count: nearMax[0].n,
      message: `${nearMax[0].n} unfinished task${nearMax[0].n === 1 ? ' has' : 's have'} failed before and ${nearMax[0].n === 1 ? 'is' : 'are'} on or near the last allowed attempt`,
      example_task_ids: nearMax.map((r) => Number(r.id)),
      action: 'check these tasks’ errors now; raise max_attempts or fix the input before they fail for good',
    });
  }
  if (resourceRepeat.length) {
    const n = resourceRepeat[0].tasks;
    risks.push({
      kind: 'repeated_resource_errors',
      severity: 'medium',
      count: n,
      message: `${n} task${n === 1 ? '' : 's'} hit resource limits (memory or runtime) two or more times`,
      example_task_ids: resourceRepeat.map((r) => Number(r.task_id)),
      action:
        'request more memory/runtime for the template (jmt resources <template> suggests values) instead of paying for retries',
    });
  }
  const arrayById = new Map(arrays.map((a) => [a.array_id, a]));
  for (const e of errorsPerArray) {
    const a = arrayById.get(e.array_id);
    if (!a) continue;
    const rate = e.errors / (e.errors + a.done);
    if (e.errors >= 3 && rate >= 0.2) {
      risks.push({
        kind: 'template_failing_often',
        severity: rate >= 0.5 ? 'high' : 'medium',
        template: a.name,
        count: e.errors,
        message: `template ${a.name}: ${e.errors} failed attempts against ${a.done} done tasks (${Math.round(rate * 100)} % of attempts fail)`,
        example_task_ids: [Number(e.example)],
        action: `jmt workflow errors ${workflowId} --grouped shows what fails; fix the template’s command or inputs`,
      });
    }
  }
  if (runActive && remainingTasks > 0) {
    const slowest = Math.max(0, ...pending.map((t) => t.history_p90_s ?? 0));
    const threshold = Math.max(NO_PROGRESS_S, 3 * slowest);
    const since = recent.last_done ?? firstRun;
    const idle = since ? (now.getTime() - since.getTime()) / 1000 : 0;
    if (idle > threshold) {
      risks.push({
        kind: 'no_progress',
        severity: 'high',
        count: 1,
        message: `no task has finished for ${humanDuration(idle)} while the run is active`,
        example_task_ids: [],
        action:
          'look at running and queued tasks (jmt workflow tasks <id> --status RUNNING,SCHEDULED) and the Temporal run',
      });
    }
  }
  if (live.pending_long > 0) {
    const { rows } = await sql<{ task_id: number }>`
      select task_id from task_instance
       where workflow_run_id in ${runIds} and status in ('O','B')
         and submitted_date < now() - make_interval(secs => ${PENDING_LONG_S})
       order by submitted_date limit 5`.execute(db);
    risks.push({
      kind: 'pending_long',
      severity: 'medium',
      count: live.pending_long,
      message: `${live.pending_long} job${live.pending_long === 1 ? ' has' : 's have'} waited on the cluster for more than ${humanDuration(PENDING_LONG_S)} without starting (oldest ${humanDuration(live.wait_max ?? 0)})`,
      example_task_ids: rows.map((r) => Number(r.task_id)),
      action:
        'the cluster is busy or the request is too large for the queue: check the scheduler’s pending reason (squeue -j <id> -o %r) or ask for fewer resources',
    });
  }

  // ---- plain language
  const finish = etaSeconds === null ? null : new Date(now.getTime() + etaSeconds * 1000);
  let etaText: string;
  if (confidence === 'finished') etaText = 'nothing left to run';
  else if (etaSeconds === null) etaText = 'no estimate yet (no runtime history and no requested runtime)';
  else
    etaText = `about ${humanDuration(etaSeconds)} left${confidence === 'requested_runtime' ? ' at most (from requested runtimes; no history yet)' : ''}`;
  const riskText = risks.length ? `${risks.length} risk${risks.length === 1 ? '' : 's'}` : 'no risks';
  let summary: string;
  if (status.status === 'D' || (remainingTasks === 0 && fatal === 0 && status.num_tasks > 0)) {
    summary = `done: all ${status.num_tasks} tasks finished in ${humanDuration(wallTime)}`;
  } else if (!runActive && status.run) {
    const why = fatal
      ? `${fatal} task${fatal === 1 ? '' : 's'} failed`
      : `run ${status.run.status_label.toLowerCase()}`;
    summary = `not running (${why}); ${status.percent_done} % done, ${remainingTasks} tasks left; ${riskText}`;
  } else if (!status.run) {
    summary = `not started yet; ${status.num_tasks} tasks; ${etaText} once started; ${riskText}`;
  } else {
    summary = `${status.percent_done} % done; ${etaText}; ${riskText}`;
  }

  return {
    workflow_id: status.workflow_id,
    name: status.name,
    status: status.status,
    status_label: status.status_label,
    num_tasks: status.num_tasks,
    buckets: status.buckets,
    counts: status.counts,
    percent_done: status.percent_done,
    run: status.run,
    run_active: runActive,
    first_run_date: isoOrNull(firstRun),
    last_task_done_date: isoOrNull(recent.last_done),
    wall_time_s: Math.round(wallTime),
    cpu_hours: Math.round((recent.cpu_s / 3600) * 1000) / 1000,
    instances: recent.instances,
    running: live.running,
    waiting_in_queue: live.waiting,
    queue_wait_s: { current_median: live.wait_median, current_max: live.wait_max, recent_median: recent.wait_recent },
    concurrency: {
      workflow_limit: limit,
      observed: Math.round(observed * 10) / 10,
      effective: Math.round(effective * 10) / 10,
    },
    eta: {
      seconds: etaSeconds === null ? null : Math.round(etaSeconds),
      finish_date: finish ? finish.toISOString() : null,
      remaining_tasks: remainingTasks,
      remaining_work_s: Math.round(work),
      confidence,
      text: etaText,
    },
    templates,
    risks,
    summary,
    generated_date: now.toISOString(),
  };
}
