/**
 * Operations on runs that go through Temporal: start (or resume) a run, pause/stop it, change its
 * concurrency limits. The API calls these; nothing else talks to Temporal about a run.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../sql/db';
import { conflict, invalid, notFound, JobmonError } from '../domain/errors';
import {
  findActiveRun,
  finishRun,
  readConcurrencyLimits,
  setConcurrencyLimit,
  setTemporalRunId,
  withNewRun,
} from '../sql/runs';
import { workflowExists, workflowLabels } from '../sql/workflows';
import {
  JOBMON_RUN_STATUS,
  JOBMON_TOOL,
  JOBMON_USER,
  JOBMON_WORKFLOW_ID,
  JOBMON_WORKFLOW_NAME,
} from '../temporal/search-attributes';
import { temporalUiUrl, temporalWorkflowId } from '../temporal/ids';
import {
  pauseSignal,
  setConcurrencyUpdate,
  stopSignal,
  unpauseSignal,
  type ConcurrencyLimits,
} from '../workflows/messages';
import type { jobmonWorkflowRun } from '../workflows/workflow-run';

export type { ConcurrencyLimits };

export interface RunDeps {
  db: Db;
  temporal: Client;
  config: Config;
}
export interface StartRunOptions {
  user: string;
  /** cold (default): running jobs of an earlier run are killed first; hot: they are adopted. */
  resumeMode?: 'hot' | 'cold';
  failFast?: boolean;
  /** Keep the resources of tasks that last failed for resources (default: scale them, as Jobmon's CLI resume). */
  keepResources?: boolean;
}
export interface StartedRun {
  workflowRunId: number;
  temporalWorkflowId: string;
  temporalRunId: string;
  temporalUiUrl: string;
  /** Tasks whose resources were scaled before this run (their last attempt failed for resources). */
  resourcesIncreased: number;
}
export type ControlAction = 'pause' | 'unpause' | 'stop-drain' | 'stop-kill';

const KEYWORD_MAX = 255;

export async function startRun(deps: RunDeps, workflowId: number, options: StartRunOptions): Promise<StartedRun> {
  const { db, temporal, config } = deps;
  const wf = await workflowLabels(db, workflowId);
  if (!wf) throw notFound('workflow', workflowId);
  const id = temporalWorkflowId(config, workflowId);
  const resumeMode = options.resumeMode ?? 'cold';
  await closeStaleRun(deps, workflowId);
  const startOptions = (workflowRunId: number) => ({
    taskQueue: config.taskQueue,
    workflowId: id,
    args: [{ workflowId, workflowRunId, resumeMode, failFast: options.failFast ?? false }] as const,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
    workflowIdConflictPolicy: 'FAIL' as const,
    typedSearchAttributes: [
      { key: JOBMON_WORKFLOW_ID, value: workflowId },
      { key: JOBMON_USER, value: options.user.slice(0, KEYWORD_MAX) },
      { key: JOBMON_TOOL, value: wf.tool.slice(0, KEYWORD_MAX) },
      { key: JOBMON_WORKFLOW_NAME, value: (wf.name || `workflow-${workflowId}`).slice(0, KEYWORD_MAX) },
      { key: JOBMON_RUN_STATUS, value: 'B' },
    ],
    memo: { jobmonWorkflowRunId: workflowRunId },
  });
  const start = (workflowRunId: number) =>
    temporal.workflow.start<typeof jobmonWorkflowRun>('jobmonWorkflowRun', startOptions(workflowRunId));
  // Set once Temporal accepted the start: if the run's transaction then fails to commit, the
  // execution has no run to work for and is terminated.
  let accepted: Awaited<ReturnType<typeof start>> | undefined;
  try {
    // The run row, its resets and the recorded execution commit together, after Temporal accepted
    // the start: a refused start writes nothing (docs/reliability.md, "Audit").
    return await withNewRun(
      db,
      workflowId,
      { user: options.user, resumeMode, temporalWorkflowId: id, increaseResources: !(options.keepResources ?? false) },
      async (tx, { runId: workflowRunId, resourcesIncreased }) => {
        try {
          accepted = await start(workflowRunId);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          // Every earlier run of this workflow has ended in Postgres (createRun found none active), so
          // the execution under the id is the last run's, between recording its end and closing: a
          // resume right after a failure meets it. Wait for it to close (bounded), then start once more.
          await temporal
            .withDeadline(Date.now() + PREVIOUS_EXECUTION_CLOSE_MS, () => temporal.workflow.getHandle(id).result())
            .catch(() => undefined);
          accepted = await start(workflowRunId);
        }
        await setTemporalRunId(tx, workflowRunId, accepted.firstExecutionRunId);
        return {
          workflowRunId,
          temporalWorkflowId: id,
          temporalRunId: accepted.firstExecutionRunId,
          temporalUiUrl: temporalUiUrl(config, id, accepted.firstExecutionRunId),
          resourcesIncreased: resourcesIncreased.length,
        };
      },
    );
  } catch (err) {
    if (accepted) await accepted.terminate('its run could not be recorded').catch(() => undefined);
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw conflict(
        `workflow ${workflowId} still has a running Temporal execution (${id}) although its runs have ended; stop it first`,
        'run_active',
      );
    }
    throw err;
  }
}

/** How long a start waits for the previous run's execution to close after its run has ended. */
const PREVIOUS_EXECUTION_CLOSE_MS = 10_000;

/**
 * How long a run may sit between its row being created and its Temporal execution being recorded
 * before another caller may treat it as abandoned (its starter died in between). Far above a start's
 * own time, even against a Temporal server that is restarting.
 */
export const RUN_START_GRACE_S = 120;

/**
 * A run whose Temporal execution ended without finishing it in Postgres (terminated from the
 * Temporal UI, timed out) would block every resume; close it as ERROR once Temporal confirms.
 *
 * A run whose execution is not recorded: startRun commits its row only with the execution, so
 * such a row was written by `createRun` alone (an API of an earlier version, mid-start during an
 * upgrade, or a test): Temporal may not know its execution yet, and closing it would leave that
 * execution running for a run row already ERROR. So such a run is only closed once it is older
 * than RUN_START_GRACE_S; until then the caller gets `run_active` (and its client attaches to that
 * run, as to any active one).
 */
async function closeStaleRun(deps: RunDeps, workflowId: number): Promise<void> {
  const run = await findActiveRun(deps.db, workflowId);
  if (!run) return;
  if (run.temporal_run_id === null && run.age_s < RUN_START_GRACE_S) {
    throw conflict(
      `workflow ${workflowId}'s run ${run.id} is being started by another request (${Math.round(run.age_s)} s ago); if that request failed, the run is given up ${RUN_START_GRACE_S} s after it began`,
      'run_active',
    );
  }
  try {
    // The latest execution under the id, not the recorded first one: a long run continues as new.
    const description = await deps.temporal.workflow.getHandle(run.temporal_workflow_id).describe();
    if (description.status.name === 'RUNNING') return;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  await finishRun(deps.db, run.id, 'E');
}

/** The active run of a workflow and its Temporal handle; undefined when none (404 for an unknown workflow). */
export async function activeRun(deps: RunDeps, workflowId: number) {
  const run = await findActiveRun(deps.db, workflowId);
  if (!run) {
    if (!(await workflowExists(deps.db, workflowId))) throw notFound('workflow', workflowId);
    return undefined;
  }
  return { id: run.id, handle: deps.temporal.workflow.getHandle(run.temporal_workflow_id) };
}

async function activeHandle(deps: RunDeps, workflowId: number) {
  return (await activeRun(deps, workflowId))?.handle;
}

/** Signal the active run; answers the run's id (for the audit log). */
export async function controlRun(
  deps: RunDeps,
  workflowId: number,
  action: ControlAction,
): Promise<{ workflowRunId: number }> {
  const run = await activeRun(deps, workflowId);
  if (!run) throw conflict(`workflow ${workflowId} has no active run`, 'no_active_run');
  const handle = run.handle;
  try {
    if (action === 'pause') await handle.signal(pauseSignal);
    else if (action === 'unpause') await handle.signal(unpauseSignal);
    else await handle.signal(stopSignal, action === 'stop-kill' ? 'kill' : 'drain');
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw conflict(`workflow ${workflowId}'s run is no longer running`, 'no_active_run');
    throw err;
  }
  return { workflowRunId: run.id };
}

/**
 * Change a limit. With an active run the change goes through the run's `setConcurrency` update
 * (validated by the workflow, effective at its next scheduling pass); without one it is stored for
 * the next run.
 */
export async function setConcurrency(
  deps: RunDeps,
  workflowId: number,
  change: { limit: number; template?: string },
): Promise<ConcurrencyLimits> {
  if (!Number.isInteger(change.limit) || change.limit < 0)
    throw invalid('limit', 'limit must be a non-negative integer');
  if (change.template !== undefined) {
    const limits = await readConcurrencyLimits(deps.db, workflowId);
    if (!(change.template in limits.templates)) {
      throw invalid('template', `workflow ${workflowId} has no task template "${change.template}"`, 'unknown_template');
    }
  }
  const handle = await activeHandle(deps, workflowId);
  if (handle) {
    try {
      return await handle.executeUpdate(setConcurrencyUpdate, { args: [change] });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) {
        if (err instanceof JobmonError) throw err;
        throw invalid('limit', `the run rejected the change: ${(err as Error).message}`);
      }
    }
  }
  return setConcurrencyLimit(deps.db, workflowId, change);
}
