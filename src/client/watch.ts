/**
 * Watching a WorkflowRun from outside: poll GET /workflows/:id/status until the run reaches a final
 * status. Used by `Workflow.run()` and `jmt workflow resume --wait`. Watching never changes the run:
 * the run lives in Temporal, so a watcher that dies (Ctrl-C, lost laptop) leaves it going.
 */
import { FINAL_WORKFLOW_RUN_STATUSES, isOneOf, type WorkflowRunStatus } from '../domain/statuses';
import { JobmonClientError, type ApiClient } from './api-client';
import type { WorkflowStatusReport } from './types';

/** Poll period: one GET per second is negligible load and feels live in a terminal. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

export interface WatchOptions {
  /** Wait for this run; while the status still shows an older run, keep polling. */
  runId?: number;
  timeoutMs: number;
  pollIntervalMs?: number;
  /** Every status read, in order. */
  onStatus?: (report: WorkflowStatusReport) => void;
  /** A read failed for a reason that may pass (API restarting); polling goes on until the deadline. */
  onTransientError?: (error: JobmonClientError) => void;
}

export class WatchTimeoutError extends Error {
  constructor(
    readonly workflowId: number,
    readonly timeoutMs: number,
    readonly lastReport: WorkflowStatusReport | undefined,
  ) {
    const run = lastReport?.run ? ` run ${lastReport.run.id}` : '';
    super(
      `workflow ${workflowId}${run} did not finish within ${Number((timeoutMs / 1000).toFixed(1))} s; ` +
        `it keeps running in Temporal — follow it with \`jmt workflow status ${workflowId}\``,
    );
    this.name = 'WatchTimeoutError';
  }
}

export function isFinalRunStatus(status: string): status is WorkflowRunStatus {
  return isOneOf(status, FINAL_WORKFLOW_RUN_STATUSES);
}

/** Poll until the run is final; returns the last status report (its `run` is the finished run). */
export async function watchRun(
  api: ApiClient,
  workflowId: number,
  options: WatchOptions,
): Promise<WorkflowStatusReport> {
  const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const deadline = Date.now() + options.timeoutMs;
  let last: WorkflowStatusReport | undefined;
  for (;;) {
    try {
      last = await api.get<WorkflowStatusReport>(`/workflows/${workflowId}/status`);
      options.onStatus?.(last);
      const run = last.run;
      if (!run && options.runId === undefined) {
        throw new JobmonClientError(
          `workflow ${workflowId} has no run to watch; start one with \`jmt workflow start ${workflowId}\``,
          'no_run',
        );
      }
      if (run && (options.runId === undefined || run.id >= options.runId) && isFinalRunStatus(run.status)) return last;
    } catch (err) {
      // Only "no answer" and 5xx are worth waiting out; a 404 or 401 will not fix itself.
      const transient = err instanceof JobmonClientError && (err.isUnreachable || (err.status ?? 0) >= 500);
      if (!transient) throw err;
      options.onTransientError?.(err);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new WatchTimeoutError(workflowId, options.timeoutMs, last);
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, remaining)));
  }
}

/** `[wf 12] 35/52 done, 3 running, 0 failed (67%)` — the one-line progress shown while watching. */
export function formatProgress(report: WorkflowStatusReport): string {
  const b = report.buckets;
  const pct = percentDone(report.buckets.DONE, report.num_tasks);
  return `[wf ${report.workflow_id}] ${b.DONE}/${report.num_tasks} done, ${b.RUNNING + b.SCHEDULED} running, ${b.FATAL} failed (${pct}%)`;
}

/**
 * A progress printer that writes a line only when it changed, so a long quiet run does not fill
 * the terminal with identical lines.
 */
export function progressPrinter(write: (line: string) => void): (report: WorkflowStatusReport) => void {
  let previous = '';
  return (report) => {
    const line = formatProgress(report);
    if (line !== previous) write(line);
    previous = line;
  };
}

/** Whole percent, rounded down so 100% means every task is DONE. */
export function percentDone(done: number, total: number): number {
  return total > 0 ? Math.floor((done * 100) / total) : 0;
}
