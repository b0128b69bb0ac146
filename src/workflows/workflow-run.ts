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

/** What the signal and update handlers change and the loop reads: one object, so both see one copy. */
interface RunState {
  paused: boolean;
  stopping: StopMode | null;
  /** Set by anything that may make a pass useful now (a signal, an update, a finished batch). */
  wake: boolean;
  counts: Partial<Record<string, number>>;
  /** Batch ids with a runBatch activity pending in this execution. */
  readonly monitors: Set<number>;
}

export async function jobmonWorkflowRun(input: WorkflowRunInput): Promise<WorkflowRunResult> {
  const { workflowId, workflowRunId } = input;
  const continuations = input.carried?.continuations ?? 0;
  const state: RunState = {
    paused: input.carried?.paused ?? false,
    stopping: input.carried?.stopping ?? null,
    wake: true,
    counts: {},
    monitors: new Set<number>(),
  };
  installHandlers(input, continuations, state);
  const watch = batchWatcher(state);
  await startOrAdopt(input, watch);

  let killed = false;
  for (;;) {
    if (state.stopping === 'kill' && !killed) {
      await short.killLiveInstances({ workflowId });
      killed = true;
    }
    const { done, moreReady } = await schedulingPass(input, state, watch);
    if (done) break;
    if (!moreReady) await condition(() => state.wake, FALLBACK_PASS_INTERVAL);
    await continueAsNewIfDue(input, state, continuations);
  }

  const status = await short.finishRun({ workflowRunId, requested: state.stopping !== null ? 'S' : 'E' });
  upsertSearchAttributes([{ key: JOBMON_RUN_STATUS, value: status }]);
  await condition(allHandlersFinished);
  return { workflowRunId, status, counts: state.counts };
}

/** The run's signals (wake, pause, unpause, stop), updates (concurrency, kill tasks) and state query. */
function installHandlers(input: WorkflowRunInput, continuations: number, state: RunState): void {
  const { workflowId, workflowRunId } = input;
  setHandler(tasksChangedSignal, () => {
    state.wake = true;
  });
  setHandler(pauseSignal, () => {
    state.paused = true;
  });
  setHandler(unpauseSignal, () => {
    state.paused = false;
    state.wake = true;
  });
  setHandler(stopSignal, (mode) => {
    // kill wins over drain; a second drain changes nothing.
    if (state.stopping !== 'kill') state.stopping = mode;
    state.wake = true;
  });
  setHandler(
    setConcurrencyUpdate,
    async (change) => {
      const limits = await short.setConcurrency({ workflowId, limit: change.limit, template: change.template });
      state.wake = true;
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
      state.wake = true;
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
    paused: state.paused,
    stopping: state.stopping,
    activeBatches: state.monitors.size,
    counts: state.counts,
    continuations,
  }));
}

/** `watch(batchId)` starts one runBatch activity per batch (a second call for the same batch is a no-op). */
function batchWatcher(state: RunState): (batchId: number) => void {
  return (batchId) => {
    if (state.monitors.has(batchId)) return;
    state.monitors.add(batchId);
    monitor
      .runBatch({ batchId })
      .catch((err) => log.warn('batch monitor ended with an error; the batch is adopted again', { batchId, err }))
      .finally(() => {
        state.monitors.delete(batchId);
        state.wake = true;
      });
  };
}

/** A run's first execution marks it started; every execution adopts the batches already in flight. */
async function startOrAdopt(input: WorkflowRunInput, watch: (batchId: number) => void): Promise<void> {
  const { workflowId, workflowRunId } = input;
  if (!input.carried) {
    await short.markRunStarted({ workflowRunId });
    upsertSearchAttributes([{ key: JOBMON_RUN_STATUS, value: 'R' }]);
    // A cold resume kills the jobs earlier runs left alive (their instances were marked K when this run was created).
    if (input.resumeMode === 'cold') await short.killLiveInstances({ workflowId });
  }
  // Batches still in flight from an earlier execution (continue-as-new, hot resume, a lost result).
  for (const batchId of await short.activeBatches({ workflowId })) watch(batchId);
}

/**
 * One pass: schedule what is ready (if submitting), watch the new batches, and say whether the run
 * is over (`done`) or has more ready tasks to submit at once (`moreReady`).
 */
async function schedulingPass(
  input: WorkflowRunInput,
  state: RunState,
  watch: (batchId: number) => void,
): Promise<{ done: boolean; moreReady: boolean }> {
  const { monitors } = state;
  // Paused as this pass saw it: an unpause that arrives while the pass runs must not read as
  // "not submitting and not paused" (fail-fast's end) below, which ended an idle paused run.
  const pausedAtPass = state.paused;
  const submitting = !state.paused && state.stopping === null && !(input.failFast && (state.counts.F ?? 0) > 0);
  const room = MAX_ACTIVE_BATCHES - monitors.size;
  // Cleared before the pass, not after: a signal or a finished batch arriving while scheduleReady
  // runs may concern a change it did not see, and must trigger the next pass at once.
  state.wake = false;
  const result = await short.scheduleReady({ workflowRunId: input.workflowRunId, maxBatches: submitting ? room : 0 });
  state.counts = result.counts.byStatus;
  for (const batchId of [...result.unsubmittedBatchIds, ...result.newBatchIds]) watch(batchId);

  const moreReady =
    submitting && result.counts.readyWaiting > 0 && monitors.size < MAX_ACTIVE_BATCHES && result.newBatchIds.length > 0;
  const idle = monitors.size === 0 && result.counts.inFlight === 0;
  // patched: runs recorded before the fix replay with the old reading of `paused`.
  const pausedNow = patched(UNPAUSE_DURING_PASS_PATCH) ? pausedAtPass : state.paused;
  const done =
    idle &&
    (state.stopping !== null || (submitting && result.counts.readyWaiting === 0) || (!submitting && !pausedNow));
  return { done, moreReady };
}

/** Continue as new when Temporal suggests it or the history passed the threshold; returns otherwise. */
async function continueAsNewIfDue(input: WorkflowRunInput, state: RunState, continuations: number): Promise<void> {
  const info = workflowInfo();
  if (
    info.continueAsNewSuggested ||
    info.historyLength > (input.historyEventsBeforeContinue ?? HISTORY_EVENTS_BEFORE_CONTINUE)
  ) {
    // Monitors are not carried over: the next execution adopts their batches from Postgres.
    await condition(allHandlersFinished);
    await continueAsNew<typeof jobmonWorkflowRun>({
      ...input,
      carried: { paused: state.paused, stopping: state.stopping, continuations: continuations + 1 },
    });
  }
}
