/**
 * "Is it done yet?": counts, time spent, an ETA from history, and risks, for one workflow. The parts
 * are computed beside this file: the facts read at once (progress-facts.ts), each template's
 * expected runtime and remaining work (progress-templates.ts), concurrency and ETA
 * (progress-eta.ts), risks (progress-risks.ts); this file puts them into one answer and its summary.
 *
 * Every statement is a GROUP BY or a bounded lookup on an index (task_status_count, task_instance_run_status,
 * task_instance_workflow_ended, task_instance_done_history); nothing loads the task list.
 */
import type { Config } from '../../config';
import { getWorkflowStatus, type WorkflowStatusView } from '../reads/workflow-status';
import type { Db } from '../db';
import { recentReads } from '../shared-reads';
import { isoOrNull } from '../dates';
import { estimate, etaText, type Estimate } from './progress-eta';
import { readProgressFacts } from './progress-facts';
import { readRisks, type Risk } from './progress-risks';
import { readTemplateProgress, type TemplateProgress } from './progress-templates';
import { humanDuration } from './util';
import type { WorkflowProgress } from '../../contract/observe';
export type { WorkflowProgress };

export type { Risk, RiskKind } from './progress-risks';
export type { TemplateProgress } from './progress-templates';

/**
 * Progress, ETA and risks of a workflow. Concurrent callers share one read (shared-reads.ts), read
 * after they asked. A workflow of RECENT_FROM_TASKS tasks or more is answered from its latest
 * answer while that is younger than 10 s, and an answer older than 1 s starts one refresh in the
 * background (`recentReads`): one read of a big workflow takes 0.1–1 s while its run keeps both
 * cores busy, so 50 observers waiting for fresh reads waited over a second each (bench:million),
 * while what they ask ("is it done yet, and when?") moves in minutes. `generated_date` says how old
 * an answer is; status (`GET /status`) stays read-after-ask for operators.
 */
export function getWorkflowProgress(db: Db, config: Config, workflowId: number): Promise<WorkflowProgress> {
  return recentProgress(db, config, workflowId, () => readWorkflowProgress(db, config, workflowId));
}

const RECENT_FROM_TASKS = 50_000;
const recentProgress = recentReads<WorkflowProgress>({
  keep: (answer) => answer.num_tasks >= RECENT_FROM_TASKS,
  refreshAfterMs: 1_000,
  serveForMs: 10_000,
});

async function readWorkflowProgress(db: Db, config: Config, workflowId: number): Promise<WorkflowProgress> {
  const status = await getWorkflowStatus(db, config, workflowId); // 404 for an unknown id
  const facts = await readProgressFacts(db, workflowId);
  const templates: TemplateProgress[] = await readTemplateProgress(db, workflowId, facts.arrays);
  const est = estimate(templates, facts, status.max_concurrently_running);
  const risks: Risk[] = await readRisks(db, workflowId, status.counts.F, facts, est);
  const now = facts.times.now;
  const text = etaText(est.confidence, est.etaSeconds);
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
    run_active: est.runActive,
    first_run_date: isoOrNull(facts.times.first_run),
    last_task_done_date: isoOrNull(facts.recent.last_done),
    wall_time_s: Math.round(est.wallTime),
    cpu_hours: Math.round((facts.recent.cpu_s / 3600) * 1000) / 1000,
    instances: facts.recent.instances,
    running: facts.live.running,
    waiting_in_queue: facts.live.waiting,
    queue_wait_s: {
      current_median: facts.live.wait_median,
      current_max: facts.live.wait_max,
      recent_median: facts.recent.wait_recent,
    },
    concurrency: {
      workflow_limit: status.max_concurrently_running,
      observed: Math.round(est.observed * 10) / 10,
      effective: Math.round(est.effective * 10) / 10,
    },
    eta: {
      seconds: est.etaSeconds === null ? null : Math.round(est.etaSeconds),
      finish_date: est.etaSeconds === null ? null : new Date(now.getTime() + est.etaSeconds * 1000).toISOString(),
      remaining_tasks: est.remainingTasks,
      remaining_work_s: Math.round(est.work),
      confidence: est.confidence,
      text,
    },
    templates,
    risks,
    summary: summaryText(status, est, risks.length, text),
    generated_date: now.toISOString(),
  };
}

/** The answer in one line of plain language. */
function summaryText(status: WorkflowStatusView, est: Estimate, riskCount: number, eta: string): string {
  const fatal = status.counts.F;
  const riskText = riskCount ? `${riskCount} risk${riskCount === 1 ? '' : 's'}` : 'no risks';
  if (status.status === 'D' || (est.remainingTasks === 0 && fatal === 0 && status.num_tasks > 0)) {
    return `done: all ${status.num_tasks} tasks finished in ${humanDuration(est.wallTime)}`;
  }
  if (!est.runActive && status.run) {
    const why = fatal
      ? `${fatal} task${fatal === 1 ? '' : 's'} failed`
      : `run ${status.run.status_label.toLowerCase()}`;
    return `not running (${why}); ${status.percent_done} % done, ${est.remainingTasks} tasks left; ${riskText}`;
  }
  if (!status.run) return `not started yet; ${status.num_tasks} tasks; ${eta} once started; ${riskText}`;
  return `${status.percent_done} % done; ${eta}; ${riskText}`;
}
