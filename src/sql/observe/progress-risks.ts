/**
 * Risks of a workflow in progress, each with what to do about it: failed tasks, tasks on their last
 * attempt, repeated resource errors, templates that fail often, no progress while a run is active,
 * jobs waiting long on the cluster, jobs the scheduler keeps waiting (its reason). Three bounded lookups (≤ 5 example ids each); the rest comes from
 * the facts already read.
 */
import { sql } from 'kysely';
import type { Db } from '../db';
import type { Estimate } from './progress-eta';
import { PENDING_LONG_S, runIdsOf, type ProgressFacts } from './progress-facts';
import { humanDuration } from './util';
import { pendingAdvice } from '../../domain/pending-reasons';
import type { RiskKind, Risk } from '../../contract/observe';
export type { RiskKind, Risk };

/** No task finished for this long (or 3 × the slowest template's p90, if longer) while a run is active. */
const NO_PROGRESS_S = 30 * 60;

export async function readRisks(
  db: Db,
  workflowId: number,
  fatal: number,
  facts: ProgressFacts,
  est: Estimate,
): Promise<Risk[]> {
  const [fatalRisk, pendingRisk, clusterRisks] = await Promise.all([
    fatalTasksRisk(db, workflowId, fatal),
    pendingLongRisk(db, workflowId, facts),
    clusterPendingRisks(db, workflowId, facts),
  ]);
  return [
    fatalRisk,
    nearMaxRisk(facts),
    resourceRisk(facts),
    ...templateRisks(workflowId, facts),
    noProgressRisk(facts, est),
    pendingRisk,
    ...clusterRisks,
  ].filter((r): r is Risk => r !== undefined);
}

async function fatalTasksRisk(db: Db, workflowId: number, fatal: number): Promise<Risk | undefined> {
  if (fatal <= 0) return undefined;
  const { rows } = await sql<{ id: number }>`
    select id from task where workflow_id = ${workflowId} and status = 'F' order by id limit 5`.execute(db);
  return {
    kind: 'fatal_tasks',
    severity: 'high',
    count: fatal,
    message: `${fatal} task${fatal === 1 ? '' : 's'} failed for good (no attempts left); their downstream tasks will not run`,
    example_task_ids: rows.map((r) => Number(r.id)),
    action:
      'read the grouped errors, fix the cause, then resume the workflow (failed tasks get a fresh attempt budget)',
  };
}

function nearMaxRisk({ nearMax }: ProgressFacts): Risk | undefined {
  if (!nearMax.length) return undefined;
  const n = nearMax[0].n;
  return {
    kind: 'near_max_attempts',
    severity: 'medium',
    count: n,
    message: `${n} unfinished task${n === 1 ? ' has' : 's have'} failed before and ${n === 1 ? 'is' : 'are'} on or near the last allowed attempt`,
    example_task_ids: nearMax.map((r) => Number(r.id)),
    action: 'check these tasks’ errors now; raise max_attempts or fix the input before they fail for good',
  };
}

function resourceRisk({ resourceRepeat }: ProgressFacts): Risk | undefined {
  if (!resourceRepeat.length) return undefined;
  const n = resourceRepeat[0].tasks;
  return {
    kind: 'repeated_resource_errors',
    severity: 'medium',
    count: n,
    message: `${n} task${n === 1 ? '' : 's'} hit resource limits (memory or runtime) two or more times`,
    example_task_ids: resourceRepeat.map((r) => Number(r.task_id)),
    action:
      'request more memory/runtime for the template (jmt resources <template> suggests values) instead of paying for retries',
  };
}

function templateRisks(workflowId: number, { arrays, errorsPerArray }: ProgressFacts): Risk[] {
  const arrayById = new Map(arrays.map((a) => [a.array_id, a]));
  const risks: Risk[] = [];
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
  return risks;
}

function noProgressRisk({ times, recent }: ProgressFacts, est: Estimate): Risk | undefined {
  if (!est.runActive || est.remainingTasks <= 0) return undefined;
  const slowest = Math.max(0, ...est.pending.map((t) => t.history_p90_s ?? 0));
  const threshold = Math.max(NO_PROGRESS_S, 3 * slowest);
  const since = recent.last_done ?? times.first_run;
  const idle = since ? (times.now.getTime() - since.getTime()) / 1000 : 0;
  if (idle <= threshold) return undefined;
  return {
    kind: 'no_progress',
    severity: 'high',
    count: 1,
    message: `no task has finished for ${humanDuration(idle)} while the run is active`,
    example_task_ids: [],
    action:
      'look at running and queued tasks (jmt workflow tasks <id> --status RUNNING,SCHEDULED) and the Temporal run',
  };
}

async function pendingLongRisk(db: Db, workflowId: number, { live }: ProgressFacts): Promise<Risk | undefined> {
  if (live.pending_long <= 0) return undefined;
  const { rows } = await sql<{ task_id: number }>`
    select task_id from task_instance
     where workflow_run_id in ${runIdsOf(workflowId)} and status in ('O','B')
       and submitted_date < now() - make_interval(secs => ${PENDING_LONG_S})
     order by submitted_date limit 5`.execute(db);
  return {
    kind: 'pending_long',
    severity: 'medium',
    count: live.pending_long,
    message: `${live.pending_long} job${live.pending_long === 1 ? ' has' : 's have'} waited on the cluster for more than ${humanDuration(PENDING_LONG_S)} without starting (oldest ${humanDuration(live.wait_max ?? 0)})`,
    example_task_ids: rows.map((r) => Number(r.task_id)),
    action:
      'the cluster is busy or the request is too large for the queue: check the scheduler’s pending reason (squeue -j <id> -o %r) or ask for fewer resources',
  };
}

/**
 * Batches whose jobs the batch system keeps waiting, one risk per reason it gives (as the monitor
 * stored it, task_batch.pending_reason): the reason in Slurm's words, and what to do about it.
 */
async function clusterPendingRisks(db: Db, workflowId: number, { live, times }: ProgressFacts): Promise<Risk[]> {
  if (live.waiting <= 0) return [];
  const { rows } = await sql<{ reason: string; since: Date; batches: number; jobs: number; tasks: number[] }>`
    select b.pending_reason as reason, min(b.pending_since) as since, count(distinct b.id)::int as batches,
           count(ti.id)::int as jobs, (array_agg(ti.task_id order by ti.id))[1:5] as tasks
      from task_batch b
      join task_instance ti on ti.batch_id = b.id and ti.status = 'O'
     where b.workflow_id = ${workflowId} and b.status <> 'D' and b.pending_reason is not null
     group by b.pending_reason
     order by min(b.pending_since)
     limit 5`.execute(db);
  return rows.map((r) => ({
    kind: 'cluster_pending' as const,
    severity: 'medium' as const,
    count: r.jobs,
    message: `${r.jobs} job${r.jobs === 1 ? '' : 's'} (${r.batches} batch${r.batches === 1 ? '' : 'es'}) wait${r.jobs === 1 ? 's' : ''} on the cluster; the scheduler says: ${r.reason} (for ${humanDuration(Math.max(0, times.now.getTime() - new Date(r.since).getTime()) / 1000)})`,
    example_task_ids: (r.tasks ?? []).map(Number),
    action: pendingAdvice(r.reason),
  }));
}
