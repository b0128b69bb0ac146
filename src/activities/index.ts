/**
 * Activities of a workflow run. Every write to Postgres made on behalf of the Temporal workflow
 * happens here, keyed by ids so that a retried activity changes nothing twice.
 */
import type { Config } from '../config';
import type { Db } from '../sql/db';
import { activeBatchIds } from '../sql/batches';
import { queuedArrayThrottles } from '../sql/array-throttles';
import { finishRun, markLiveInstancesKilled, markRunStarted, setConcurrencyLimit } from '../sql/runs';
import { scheduleReadyTasks, type ScheduleResult } from '../sql/scheduling';
import type { WorkflowRunStatus } from '../domain/statuses';
import { DistributorPool } from './distributor-pool';
import { runBatch, type BatchSummary } from './batch-monitor';

export interface ActivityDeps {
  db: Db;
  config: Config;
  distributors: DistributorPool;
  /**
   * Wakes a run after the monitor changed statuses itself (the worker sends the run's typed
   * `tasksChanged` signal); optional in unit tests. Injected rather than built here so that the
   * activities need neither the Temporal client nor the workflow's message definitions.
   */
  notify?: (temporalWorkflowId: string) => Promise<void>;
}

export type { BatchSummary, ScheduleResult };

export function createActivities(deps: ActivityDeps) {
  const { db } = deps;
  const notify = deps.notify ?? (async () => undefined);
  /** Mark live instances KILL_SELF and tell their distributors to terminate the jobs; counts the jobs. */
  const killJobs = async (workflowId: number, taskIds?: number[]): Promise<number> => {
    let n = 0;
    for (const group of await markLiveInstancesKilled(db, workflowId, taskIds)) {
      const distributor = deps.distributors.get(group.clusterName, group.clusterType, group.connectionParameters);
      await distributor.terminate(group.distributorIds);
      n += group.distributorIds.length;
    }
    return n;
  };
  return {
    async markRunStarted(input: { workflowRunId: number }): Promise<void> {
      await markRunStarted(db, input.workflowRunId);
    },

    async scheduleReady(input: { workflowRunId: number; maxBatches: number }): Promise<ScheduleResult> {
      return scheduleReadyTasks(db, { workflowRunId: input.workflowRunId, maxBatches: input.maxBatches });
    },

    async activeBatches(input: { workflowId: number }): Promise<number[]> {
      return activeBatchIds(db, input.workflowId);
    },

    async runBatch(input: { batchId: number }): Promise<BatchSummary> {
      return runBatch({ ...deps, notify }, input.batchId);
    },

    /**
     * Kill every live job of the workflow: instances become KILL_SELF (wrappers kill their command
     * on their next heartbeat) and the distributors are told to terminate the jobs. Used by
     * stop --kill and by a cold resume for jobs of earlier runs.
     */
    async killLiveInstances(input: { workflowId: number }): Promise<number> {
      return killJobs(input.workflowId);
    },

    /** The jobs of some tasks only (operator set-status --force); same mechanism as killLiveInstances. */
    async killTaskInstances(input: { workflowId: number; taskIds: number[] }): Promise<number> {
      return killJobs(input.workflowId, input.taskIds);
    },

    async setConcurrency(input: { workflowId: number; limit: number; template?: string }) {
      const limits = await setConcurrencyLimit(db, input.workflowId, { limit: input.limit, template: input.template });
      // Arrays already queued on a distributor that can throttle them follow the new limit.
      for (const group of await queuedArrayThrottles(db, input.workflowId, input.template)) {
        const distributor = deps.distributors.get(group.clusterName, group.clusterType, group.connectionParameters);
        await distributor.setArrayThrottle?.(group.arrayIds, group.limit);
      }
      return limits;
    },

    async finishRun(input: { workflowRunId: number; requested: 'E' | 'S' }): Promise<WorkflowRunStatus> {
      return finishRun(db, input.workflowRunId, input.requested);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
