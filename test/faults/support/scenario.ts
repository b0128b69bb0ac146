/**
 * One fault scenario from start to table row: bind the fault workflow, start its run, wait until a
 * share of it is DONE, inject the fault (the test's callback, which also undoes it: restart, heal),
 * let the run finish by itself, then check the invariants and write the row.
 */
import { expect } from 'vitest';
import type { WorkflowRunStatus } from '../../../src/client';
import { FINAL_TASK_INSTANCE_STATUSES } from '../../../src/domain/statuses';
import { waitFor } from '../../helpers/wait';
import { taskStatusCounts } from '../../e2e/helpers';
import { faultWorkflow, faultWorkflowEdges, type FaultDagOptions } from './fault-dag';
import {
  checkInvariants,
  definitions,
  doneInstances,
  firstDoneAfter,
  firstSubmittedAfter,
  writeFaultRow,
  type FaultRow,
  type InvariantReport,
} from './fault-report';
import type { FaultStack } from './fault-stack';

export interface Injection {
  /** When the fault was over (component back, proxy passing again); recovery is measured after it. */
  restoredAtMs: number;
  /**
   * Seconds from the injection until the system noticed, when measurable; called once the run has
   * ended (a background probe stops then).
   */
  detectedAfterS?: () => Promise<number | null> | number | null;
  note?: string;
}

export interface ScenarioOptions extends Omit<FaultDagOptions, 'workflowArgs'> {
  /** File name of the row (test-results/faults/<slug>.json). */
  slug: string;
  /** Name in the table. */
  fault: string;
  /** Inject once this many tasks are DONE. */
  injectAfterDone: number;
  inject: (ctx: { workflowId: number; injectedAtMs: number }) => Promise<Injection>;
  /**
   * What "recovered" means: a task finishing, or a job being submitted, after the fault ended; or
   * the test's own measure (seconds after the injection), called once the run has ended.
   */
  recovery: 'done' | 'submitted' | ((ctx: { workflowId: number; injectedAtMs: number }) => Promise<number | null>);
  /** Bound on the whole run. */
  timeoutS: number;
  /** More to show when the run fails (the distributor's own view of its jobs, say). */
  diagnose?: () => string;
}

export interface ScenarioResult {
  status: WorkflowRunStatus;
  row: FaultRow;
  report: InvariantReport;
  workflowId: number;
}

export async function runFaultScenario(stack: FaultStack, opts: ScenarioOptions): Promise<ScenarioResult> {
  const wf = faultWorkflow(stack.tool(`faults-${opts.slug}`), { ...opts, workflowArgs: opts.slug });
  const startedAt = Date.now();
  const workflowId = await wf.bind();
  const bound = await definitions(stack.db, workflowId);
  const result = wf.run({ progress: false, secondsUntilTimeout: opts.timeoutS });
  let finished = false;
  // Observed even if the test fails before awaiting it below.
  result.then(
    () => (finished = true),
    () => (finished = true),
  );

  await waitFor(
    async () => {
      const counts = await taskStatusCounts(stack.db, workflowId);
      // A run that ended early (failed) must not leave this wait hanging until its bound.
      return (counts.D ?? 0) >= opts.injectAfterDone || finished;
    },
    {
      timeoutMs: opts.timeoutS * 1000,
      intervalMs: 100,
      what: `${opts.injectAfterDone} tasks to be DONE before the fault`,
    },
  );
  const doneBeforeFault = await doneInstances(stack.db, workflowId);
  const injectedAtMs = Date.now();
  const injection = await opts.inject({ workflowId, injectedAtMs });
  let status: WorkflowRunStatus;
  try {
    status = await result;
  } catch (err) {
    // What a failed run looked like, for the failure message: task counts and the processes' last words.
    const counts = await taskStatusCounts(stack.db, workflowId).catch(() => ({}));
    const unfinished = await unfinishedInstances(stack, workflowId).catch((e: Error) => e.message);
    const more = opts.diagnose ? `\n--- ${opts.fault}:\n${safely(opts.diagnose)}` : '';
    throw new Error(
      `${(err as Error).message}\ntask statuses: ${JSON.stringify(counts)}\nunfinished instances:\n${unfinished}${more}\n--- worker stderr:\n${stack.worker.tail()}\n--- api stderr:\n${stack.api.tail()}`,
      { cause: err },
    );
  }
  const runS = (Date.now() - startedAt) / 1000;
  const recoveredAfterS =
    opts.recovery === 'done'
      ? await firstDoneAfter(stack.db, workflowId, injection.restoredAtMs, injectedAtMs)
      : opts.recovery === 'submitted'
        ? await firstSubmittedAfter(stack.db, workflowId, injection.restoredAtMs, injectedAtMs)
        : await opts.recovery({ workflowId, injectedAtMs });
  const report = await checkInvariants(stack.db, workflowId, {
    tasks: opts.tasks,
    edges: faultWorkflowEdges(opts.tasks),
    bound,
    doneBeforeFault,
  });
  const detected = await injection.detectedAfterS?.();
  const row: FaultRow = {
    fault: opts.fault,
    tasks: opts.tasks,
    detectedAfterS: detected === undefined || detected === null ? null : round1(detected),
    recoveredAfterS: recoveredAfterS === null ? null : round1(recoveredAfterS),
    tasksLost: report.tasksLost,
    tasksRunTwice: report.tasksRunTwice,
    instancesRetried: report.instancesRetried,
    runS: round1(runS),
    passed: status === 'D' && report.problems.length === 0,
    note: [
      injection.note,
      report.retriedByStatus && `retried instances ended ${report.retriedByStatus}`,
      status === 'D' ? undefined : `run ended ${status}`,
      ...report.problems,
    ]
      .filter(Boolean)
      .join('; '),
  };
  writeFaultRow(opts.slug, row);
  return { status, row, report, workflowId };
}

/** Instances not yet final, one line each: what a stuck run is waiting for. */
async function unfinishedInstances(stack: FaultStack, workflowId: number): Promise<string> {
  const rows = await stack.db
    .selectFrom('task_instance')
    .select(['id', 'task_id', 'status', 'distributor_id', 'submitted_date', 'report_by_date'])
    .where('workflow_id', '=', workflowId)
    .where('status', 'not in', [...FINAL_TASK_INSTANCE_STATUSES])
    .orderBy('id')
    .execute();
  return rows
    .map(
      (r) =>
        `  instance ${r.id} (task ${r.task_id}): ${r.status}, job ${r.distributor_id ?? '-'}, submitted ${r.submitted_date?.toISOString() ?? '-'}, report by ${r.report_by_date?.toISOString() ?? '-'}`,
    )
    .join('\n');
}

function safely(f: () => string): string {
  try {
    return f();
  } catch (err) {
    return `(could not tell: ${(err as Error).message})`;
  }
}

/** The assertions every scenario shares. */
export function expectInvariants(result: ScenarioResult): void {
  expect(result.report.problems).toEqual([]);
  expect(result.status).toBe('D');
  expect(result.row.tasksLost).toBe(0);
  expect(result.row.tasksRunTwice).toBe(0);
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
