/**
 * Concurrency and ETA of a workflow from its templates' remaining work (pure; docs/observers.md).
 * ETA = work / effective concurrency, never less than half the longest task's runtime and never
 * less than any template's work over its own limit. Effective concurrency = the parallelism
 * observed over the last 15 minutes (or the tasks running now, whichever is higher), capped by the
 * workflow's limit; with nothing running, the limit capped by the remaining tasks.
 */
import type { ProgressFacts } from './progress-facts';
import { WINDOW_S } from './progress-facts';
import type { TemplateProgress } from './progress-templates';
import { humanDuration } from './util';
import type { EtaConfidence } from '../../contract/observe';
export type { EtaConfidence };

export interface Estimate {
  observed: number;
  effective: number;
  /** Σ remaining work of the templates, seconds. */
  work: number;
  remainingTasks: number;
  /** Templates with tasks left. */
  pending: TemplateProgress[];
  etaSeconds: number | null;
  confidence: EtaConfidence;
  /** Wall time since the first run, up to now or the last run's end. */
  wallTime: number;
  runActive: boolean;
}

export function estimate(templates: TemplateProgress[], facts: ProgressFacts, limit: number): Estimate {
  const { times, live, recent } = facts;
  const now = times.now;
  const firstRun = times.first_run;
  const windowS = observationWindowS(now, firstRun, [recent.first_started, live.first_started]);
  const observed = (recent.busy_s + live.running_busy_s) / windowS;
  const runActive = Boolean(times.any_active);
  const remainingTasks = templates.reduce((s, t) => s + t.remaining, 0);
  const effective =
    live.running > 0 || observed >= 1
      ? Math.max(1, Math.min(limit, Math.max(observed, live.running)))
      : Math.max(1, Math.min(limit, remainingTasks));
  const work = templates.reduce((s, t) => s + t.remaining_work_s, 0);
  const pending = templates.filter((t) => t.remaining > 0);
  const { etaSeconds, confidence } = eta(pending, remainingTasks, work, effective);
  const end = runActive ? now : (times.last_run_end ?? now);
  const wallTime = firstRun ? Math.max(0, (end.getTime() - firstRun.getTime()) / 1000) : 0;
  return { observed, effective, work, remainingTasks, pending, etaSeconds, confidence, wallTime, runActive };
}

/**
 * Seconds over which parallelism is observed: the last 15 minutes, or less in a young run. A young
 * run's window starts at its first task's start, not at the run's creation: the start-up before it
 * (Temporal, scheduling, Slurm's queue) ran nothing, and counting it as idle made a run of
 * second-long tasks look a fraction as parallel as it was, so its first ETAs were several times too
 * long (test/progress-eta.test.ts). `starts` are the earliest starts of the window's ended and the
 * running instances; in a run younger than the window they include its first task's.
 */
function observationWindowS(now: Date, firstRun: Date | null, starts: (Date | null)[]): number {
  if (!firstRun) return WINDOW_S;
  const age = (d: Date) => (now.getTime() - new Date(d).getTime()) / 1000;
  if (age(firstRun) >= WINDOW_S) return WINDOW_S;
  const started = starts.filter((d): d is Date => d !== null).map(age);
  const since = started.length > 0 ? Math.min(age(firstRun), Math.max(...started)) : age(firstRun);
  return Math.min(WINDOW_S, Math.max(1, since));
}

function eta(
  pending: TemplateProgress[],
  remainingTasks: number,
  work: number,
  effective: number,
): { etaSeconds: number | null; confidence: EtaConfidence } {
  if (remainingTasks === 0) return { etaSeconds: 0, confidence: 'finished' };
  if (pending.every((t) => t.expected_runtime_s === null)) return { etaSeconds: null, confidence: 'none' };
  const longest = Math.max(...pending.map((t) => t.expected_runtime_s ?? 0));
  const perTemplate = Math.max(
    ...pending.map((t) => t.remaining_work_s / Math.max(1, Math.min(t.max_concurrently_running, effective))),
  );
  const bases = new Set(pending.map((t) => t.basis));
  const confidence: EtaConfidence =
    bases.has('none') || (bases.has('requested_runtime') && bases.size > 1)
      ? 'partial_history'
      : bases.has('requested_runtime')
        ? 'requested_runtime'
        : 'history';
  return { etaSeconds: Math.max(work / effective, longest / 2, perTemplate), confidence };
}

/** The ETA in words. */
export function etaText(confidence: EtaConfidence, etaSeconds: number | null): string {
  if (confidence === 'finished') return 'nothing left to run';
  if (etaSeconds === null) return 'no estimate yet (no runtime history and no requested runtime)';
  return `about ${humanDuration(etaSeconds)} left${confidence === 'requested_runtime' ? ' at most (from requested runtimes; no history yet)' : ''}`;
}
