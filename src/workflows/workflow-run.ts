/**
 * One Jobmon WorkflowRun as one Temporal workflow (id `jobmon-workflow-<id>`, prefix configurable; a resume is a new
 * execution of the same id).
 *
 * Shape, chosen for Temporal's per-execution limits (docs/design.md):
 * - The DAG never enters history. Each pass asks Postgres (scheduleReady) which tasks are ready
 *   within the concurrency limits; it creates batches of ≤ 500 instances and returns their ids.
 * - Each batch is one long heartbeating activity (runBatch) that submits it and watches it, so a
 *   100,000-task run holds at most MAX_ACTIVE_BATCHES pending activities and ~3 events per batch.
 * - Passes are triggered by a finished batch, by the API's coalesced `tasksChanged` signal when a
 *   task ends, or by a fallback timer; the run continues as new when Temporal suggests it, and the
 *   new execution adopts the batches still in flight from Postgres.
 * Deterministic: no I/O, clocks or randomness here; everything else is an activity.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WorkflowRunStatus } from '../domain/statuses';
import { JOBMON_RUN_STATUS } from '../temporal/search-attributes';
import {
  killTasksUpdate,
  MAX_KILL_TASK_IDS,
  pauseSignal,
  runStateQuery,
  setConcurrencyUpdate,
  stopSignal,
  tasksChangedSignal,
  unpauseSignal,
  type StopMode,
} from './messages';

/** Pending runBatch activities per execution: Temporal caps pending activities at 2,000 and advises ≤ 500. */
export const MAX_ACTIVE_BATCHES = 400;
/** Continue as new past this many events even if the server has not suggested it yet (hard limit 51,200). */
export const HISTORY_EVENTS_BEFORE_CONTINUE = 8_000;
/** A pass happens at least this often, in case a `tasksChanged` signal was lost (API down). */
const FALLBACK_PASS_INTERVAL = '10s';
/** Patch id of the fix that reads `paused` as the pass saw it when deciding whether the run ends. */
const UNPAUSE_DURING_PASS_PATCH = 'unpause-during-pass';

export interface WorkflowRunInput {
  workflowId: number;
  workflowRunId: number;
  resumeMode: 'hot' | 'cold';
  failFast?: boolean;
  /** State carried across continue-as-new; absent on the first execution of a run. */
  carried?: { paused: boolean; stopping: StopMode | null; continuations: number };
  /**
   * Continue as new past this many events instead of HISTORY_EVENTS_BEFORE_CONTINUE. Only tests
   * set it (to exercise continue-as-new in a few passes); optional, so histories recorded without
   * it replay unchanged.
   */
  historyEventsBeforeContinue?: number;
}

export interface WorkflowRunResult {
  workflowRunId: number;
  status: WorkflowRunStatus;
  counts: Partial<Record<string, number>>;
}

const short = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // The worker heartbeats these for them (src/worker/auto-heartbeat.ts): a worker that dies
  // mid-activity is found in 30 s, not after the 5 minutes above with the whole run waiting.
  heartbeatTimeout: '30s',
  // Infrastructure errors (database restart, network) are retried forever with back-off; task
  // failures never surface here, they are statuses in Postgres counted against max_attempts.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

const monitor = proxyActivities<Activities>({
  // A batch lives as long as its jobs (queued + running on the cluster). The heartbeat timeout,
  // not this bound, is what detects a dead worker.
  startToCloseTimeout: '30 days',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

export async function jobmonWorkflowRun(input: WorkflowRunInput): Promise<WorkflowRunResult> {
  const { workflowId, workflowRunId } = input;
  let paused = input.carried?.paused ?? false;
  let stopping: StopMode | null = input.carried?.stopping ?? null;
  const continuations = input.carried?.continuations ?? 0;
  let wake = true;
  let counts: Partial<Record<string, number>> = {};
  const monitors = new Set<number>();

  setHandler(tasksChangedSignal, () => {
    wake = true;
  });
  setHandler(pauseSignal, () => {
    paused = true;
  });
  setHandler(unpauseSignal, () => {
    paused = false;
    wake = true;
  });
  setHandler(stopSignal, (mode) => {
    // kill wins over drain; a second drain changes nothing.
    if (stopping !== 'kill') stopping = mode;
    wake = true;
  });
  setHandler(
    setConcurrencyUpdate,
    async (change) => {
      const limits = await short.setConcurrency({ workflowId, limit: change.limit, template: change.template });
      wake = true;
      return limits;
    },
    {
      validator: (change) => {
        if (!Number.isInteger(change.limit) || change.limit < 0) {
          throw new Error(`limit must be a non-negative integer, got ${String(change.limit)}`);
        }
        if (change.template !== undefined && (typeof change.template !== 'string' || change.template.length === 0)) {
          throw new Error('template must be a non-empty task template name');
        }
      },
    },
  );
  setHandler(
    killTasksUpdate,
    async ({ taskIds }) => {
      const n = await short.killTaskInstances({ workflowId, taskIds });
      wake = true;
      return n;
    },
    {
      validator: ({ taskIds }) => {
        if (!Array.isArray(taskIds) || taskIds.length === 0 || taskIds.length > MAX_KILL_TASK_IDS) {
          throw new Error(`taskIds must list 1 to ${MAX_KILL_TASK_IDS} task ids`);
        }
        if (!taskIds.every((id) => Number.isSafeInteger(id) && id > 0))
          throw new Error('taskIds must be positive integers');
      },
    },
  );
  setHandler(runStateQuery, () => ({
    workflowId,
    workflowRunId,
    paused,
    stopping,
    activeBatches: monitors.size,
    counts,
    continuations,
  }));

  const watch = (batchId: number) => {
    if (monitors.has(batchId)) return;
    monitors.add(batchId);
    monitor
      .runBatch({ batchId })
      .catch((err) => log.warn('batch monitor ended with an error; the batch is adopted again', { batchId, err }))
      .finally(() => {
        monitors.delete(batchId);
        wake = true;
      });
  };

  if (!input.carried) {
    await short.markRunStarted({ workflowRunId });
    upsertSearchAttributes([{ key: JOBMON_RUN_STATUS, value: 'R' }]);
    // A cold resume kills the jobs earlier runs left alive (their instances were marked K when this run was created).
    if (input.resumeMode === 'cold') await short.killLiveInstances({ workflowId });
  }
  // Batches still in flight from an earlier execution (continue-as-new, hot resume, a lost result).
  for (const batchId of await short.activeBatches({ workflowId })) watch(batchId);

  let killed = false;
  for (;;) {
    if (stopping === 'kill' && !killed) {
      await short.killLiveInstances({ workflowId });
      killed = true;
    }
    // Paused as this pass saw it: an unpause that arrives while the pass runs must not read as
    // "not submitting and not paused" (fail-fast's end) below, which ended an idle paused run.
    const pausedAtPass = paused;
    const submitting = !paused && stopping === null && !(input.failFast && (counts.F ?? 0) > 0);
    const room = MAX_ACTIVE_BATCHES - monitors.size;
    // Cleared before the pass, not after: a signal or a finished batch arriving while scheduleReady
    // runs may concern a change it did not see, and must trigger the next pass at once.
    wake = false;
    const result = await short.scheduleReady({ workflowRunId, maxBatches: submitting ? room : 0 });
    counts = result.counts.byStatus;
    for (const batchId of [...result.unsubmittedBatchIds, ...result.newBatchIds]) watch(batchId);

    const moreReady =
      submitting &&
      result.counts.readyWaiting > 0 &&
      monitors.size < MAX_ACTIVE_BATCHES &&
      result.newBatchIds.length > 0;
    const idle = monitors.size === 0 && result.counts.inFlight === 0;
    // patched: runs recorded before the fix replay with the old reading of `paused`.
    const pausedNow = patched(UNPAUSE_DURING_PASS_PATCH) ? pausedAtPass : paused;
    if (
      idle &&
      (stopping !== null || (submitting && result.counts.readyWaiting === 0) || (!submitting && !pausedNow))
    ) {
      break;
    }

    if (!moreReady) await condition(() => wake, FALLBACK_PASS_INTERVAL);

    const info = workflowInfo();
    if (
      info.continueAsNewSuggested ||
      info.historyLength > (input.historyEventsBeforeContinue ?? HISTORY_EVENTS_BEFORE_CONTINUE)
    ) {
      // Monitors are not carried over: the next execution adopts their batches from Postgres.
      await condition(allHandlersFinished);
      await continueAsNew<typeof jobmonWorkflowRun>({
        ...input,
        carried: { paused, stopping, continuations: continuations + 1 },
      });
    }
  }

  const status = await short.finishRun({ workflowRunId, requested: stopping !== null ? 'S' : 'E' });
  upsertSearchAttributes([{ key: JOBMON_RUN_STATUS, value: status }]);
  await condition(allHandlersFinished);
  return { workflowRunId, status, counts };
}
