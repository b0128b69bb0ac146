/**
 * The progress ETA of a young run of second-long tasks (#17: "early ETAs far off"). The start-up
 * before the first task (Temporal, scheduling, a cluster's queue) used to count as idle time in the
 * observed parallelism, so a run with 2 slots busy looked ~0.3 parallel and its ETA doubled.
 */
import { describe, expect, it } from 'vitest';
import { estimate } from '../src/sql/observe/progress-eta';
import type { ProgressFacts } from '../src/sql/observe/progress-facts';
import type { TemplateProgress } from '../src/sql/observe/progress-templates';

const now = new Date('2026-12-03T12:00:30Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000);

/** 100 one-second tasks, limit 2: 8 done in the 4 s since the first started, 1 running (0.5 s in). */
const template: TemplateProgress = {
  name: 'quick',
  max_concurrently_running: 2,
  total: 100,
  done: 8,
  remaining: 92,
  running: 1,
  fatal: 0,
  percent_done: 8,
  expected_runtime_s: 1,
  basis: 'template_history',
  history_instances: 8,
  history_median_s: 1,
  history_p90_s: 1,
  remaining_work_s: 91.5,
};

function facts(firstStartedAgo: number | null): ProgressFacts {
  const firstStarted = firstStartedAgo === null ? null : ago(firstStartedAgo);
  return {
    times: { first_run: ago(30), last_run_end: null, any_active: true, now },
    live: { running: 1, running_busy_s: 0.5, first_started: ago(0.5) },
    recent: { busy_s: firstStartedAgo === null ? 0 : 8, first_started: firstStarted },
  } as unknown as ProgressFacts;
}

describe('the ETA of a young run of second-long tasks', () => {
  it('observes parallelism from the first task start, not from the run creation 26 s of start-up earlier', () => {
    const e = estimate([template], facts(4), 2);
    // 8.5 busy seconds over 4 s: both slots in use.
    expect(e.observed).toBeCloseTo(8.5 / 4, 5);
    expect(e.effective).toBe(2);
    // 91.5 s of work on 2 slots ≈ 46 s (was 91.5 s: 8.5 / 30 s = 0.28 observed, so 1 running counted).
    expect(e.etaSeconds).toBeCloseTo(45.75, 5);
    expect(e.confidence).toBe('history');
  });

  it('keeps the 15-minute window for an old run, and the run age when nothing has started', () => {
    const old = facts(4);
    (old.times as { first_run: Date }).first_run = ago(3600);
    expect(estimate([template], old, 2).observed).toBeCloseTo(8.5 / 900, 5);
    const none = facts(null);
    (none.live as { first_started: Date | null }).first_started = null;
    (none.live as { running_busy_s: number }).running_busy_s = 0;
    expect(estimate([template], none, 2).observed).toBe(0);
  });
});
