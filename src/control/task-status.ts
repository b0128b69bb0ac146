/**
 * Operator set-status (Jobmon's `jmt task update`) and reset, acting through the run when one is
 * active: forced changes of running tasks first kill their jobs with the run's `killTasks` update
 * (so the distributor terminates them), and every applied change wakes the run with `tasksChanged`
 * so tasks made ready are scheduled at once. Without a run the change is a Postgres transaction only.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../sql/db';
import { findActiveRun } from '../sql/runs';
import { workflowExists } from '../sql/workflows';
import { conflict, notFound } from '../domain/errors';
import {
  applyStatusChange,
  LARGE_CHANGE,
  planStatusChange,
  resetWorkflow,
  type ChangePreview,
  type ResetResult,
  type StatusChangeRequest,
} from '../sql/task-status-change';
import { killTasksUpdate, MAX_KILL_TASK_IDS, tasksChangedSignal } from '../workflows/messages';

export interface StatusChangeDeps {
  db: Db;
  /** Connected lazily: a change without an active run works while Temporal is down. */
  temporal: () => Promise<Client>;
}

async function activeRunOf(deps: StatusChangeDeps, workflowId: number) {
  const run = await findActiveRun(deps.db, workflowId);
  if (!run) {
    if (!(await workflowExists(deps.db, workflowId))) throw notFound('workflow', workflowId);
    return undefined;
  }
  // The handle only when needed: a dry run or a change of idle tasks reads Postgres alone.
  return { id: run.id, handle: async () => (await deps.temporal()).workflow.getHandle(run.temporal_workflow_id) };
}

export interface SetStatusOutcome extends ChangePreview {
  status: 'D' | 'G';
  dry_run: boolean;
  /** False for a dry run. */
  applied: boolean;
  /** A dry run's verdict: applying as asked would be refused for running tasks (needs force). */
  needs_force: boolean;
  /** A dry run's verdict: applying needs confirm (more than LARGE_CHANGE tasks change). */
  needs_confirm: boolean;
  /** Jobs the run was asked to kill (force). */
  killed_jobs: number;
  workflow_run_id: number | null;
  workflow_status: string | null;
}

/** Rounds of "kill what runs, try again": tasks may start between the kill and the change. */
const KILL_ROUNDS = 5;

function preview(p: ChangePreview): ChangePreview {
  return {
    selected: p.selected,
    changed: p.changed,
    propagated: p.propagated,
    running: p.running,
    by_template: p.by_template,
  };
}

export async function setTaskStatuses(
  deps: StatusChangeDeps,
  workflowId: number,
  request: StatusChangeRequest,
  dryRun: boolean,
): Promise<SetStatusOutcome> {
  const run = await activeRunOf(deps, workflowId);
  const base = { status: request.status, workflow_run_id: run?.id ?? null };
  if (dryRun) {
    const plan = await planStatusChange(deps.db, workflowId, request);
    return {
      ...base,
      ...preview(plan),
      dry_run: true,
      applied: false,
      needs_force: plan.running > 0 && !request.force,
      needs_confirm: plan.changed > LARGE_CHANGE && !request.confirm,
      killed_jobs: 0,
      workflow_status: null,
    };
  }
  const killed = new Set<number>();
  let killedJobs = 0;
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const result = await applyStatusChange(deps.db, workflowId, request, { killed, hasRun: run !== undefined });
    if (result.applied) {
      if (run && result.plan.changed > 0) await wake(run.handle);
      return {
        ...base,
        ...preview(result.plan),
        dry_run: false,
        applied: true,
        needs_force: false,
        needs_confirm: false,
        killed_jobs: killedJobs,
        workflow_status: result.workflowStatus,
      };
    }
    if (!run) {
      throw conflict(
        `${result.unkilled.length} task(s) to change have a queued or running job but workflow ${workflowId} has no active run to kill them through; resume it cold (\`jmt workflow resume ${workflowId} --reset-running\`) or wait for the jobs to end`,
        'no_active_run',
      );
    }
    for (let i = 0; i < result.unkilled.length; i += MAX_KILL_TASK_IDS) {
      const taskIds = result.unkilled.slice(i, i + MAX_KILL_TASK_IDS);
      try {
        killedJobs += await (await run.handle()).executeUpdate(killTasksUpdate, { args: [{ taskIds }] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          throw conflict(
            `workflow ${workflowId}'s run ended while its jobs were being killed; try again`,
            'no_active_run',
          );
        throw err;
      }
      for (const id of taskIds) killed.add(id);
    }
  }
  throw conflict(
    `tasks of workflow ${workflowId} kept starting while their jobs were killed; pause the run first`,
    'tasks_running',
  );
}

/**
 * The change is committed; waking the run only saves it the wait for its fallback pass (10 s), so a
 * Temporal hiccup here must not turn a done change into an error.
 */
async function wake(
  handle: () => Promise<{ signal: (def: typeof tasksChangedSignal) => Promise<void> }>,
): Promise<void> {
  try {
    await (await handle()).signal(tasksChangedSignal);
  } catch (err) {
    process.stderr.write(
      `set-status: run not woken (${err instanceof Error ? err.message : String(err)}); it picks the change up at its next pass\n`,
    );
  }
}

export async function resetWorkflowTasks(
  deps: Pick<StatusChangeDeps, 'db'>,
  workflowId: number,
  keepDone: boolean,
): Promise<ResetResult> {
  return resetWorkflow(deps.db, workflowId, keepDone);
}
