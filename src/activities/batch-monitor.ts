/**
 * The batch monitor: one long activity per batch that submits the batch to its distributor (once)
 * and then watches its instances until every one is final.
 *
 * Liveness has two links, each ended by a timeout rather than by guesswork:
 * - job → API: the worker-node wrapper heartbeats each instance (report_by_date in Postgres). An
 *   instance past its report_by is asked about on the distributor: if the distributor still has
 *   the job, it gets more time (queued jobs do not heartbeat); if not, it is declared lost
 *   (NO_HEARTBEAT before it started, else the distributor's exit info: resource error, unknown)
 *   and its task is retried.
 * - monitor → Temporal: this activity heartbeats with its progress. If the worker running it dies,
 *   Temporal's heartbeat timeout fires and the activity is retried on a live worker, which skips
 *   the submission (the batch row says it happened) and resumes watching. Jobs are never
 *   submitted twice: submission is recorded in the same transaction that moves instances Q → O.
 *
 * Why not one async-completed activity per task: each would stay pending for the whole job and
 * cost ~3 history events, so 100,000 tasks would need 100,000 pending activities against a cap
 * of 2,000 per execution; one monitor per ≤ 500-task batch keeps a run within a few hundred.
 */
import { activityInfo, heartbeat, sleep } from '@temporalio/activity';
import type { Config } from '../config';
import { mintJobToken } from '../domain/job-tokens';
import { serverSecret } from '../sql/server-secrets';
import type { Db } from '../sql/db';
import {
  extendReportBy,
  finishBatch,
  liveInstances,
  loadBatch,
  recordPendingReason,
  recordSubmission,
  type LiveInstance,
} from '../sql/batches';
import { logDone, logError } from '../sql/task-instance-reports';
import type { Distributor } from '../distributors/distributor';
import type { DistributorPool } from './distributor-pool';

/** Array throttle values at or above this mean "no limit" (Jobmon's MaxConcurrentlyRunning). */
const UNLIMITED = 2_147_483_647;

export interface BatchSummary {
  batchId: number;
  done: number;
  failed: number;
}

export interface MonitorDeps {
  db: Db;
  config: Config;
  distributors: DistributorPool;
  /** Wake the run's workflow when the monitor changed task statuses itself (lost jobs). */
  notify: (temporalWorkflowId: string) => Promise<void>;
}

export function pollIntervalMs(clusterType: string): number {
  // Local jobs report through the API within milliseconds; Slurm's own state is worth asking less often.
  return clusterType === 'slurm' ? 5_000 : 1_000;
}

export async function runBatch(deps: MonitorDeps, batchId: number): Promise<BatchSummary> {
  const { db, config } = deps;
  const batch = await loadBatch(db, batchId);
  if (!batch) return { batchId, done: 0, failed: 0 };
  const distributor = deps.distributors.get(batch.clusterName, batch.clusterType, batch.connectionParameters);
  const reportBySeconds = config.taskInstanceHeartbeatS * config.reportByBuffer;

  if (batch.status === 'Q') {
    let distributorIds = new Map<number, string>();
    let arrayId: string | undefined;
    if (batch.toSubmit.length > 0) {
      const result = await distributor.submit({
        batchId,
        workflowId: batch.workflowId,
        workflowRunId: batch.workflowRunId,
        clusterName: batch.clusterName,
        jobName: `${batch.templateName}-${batchId}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 200),
        resources: batch.resources,
        workingDir: batch.workingDir,
        instances: batch.toSubmit,
        concurrencyLimit: batch.arrayLimit >= UNLIMITED ? undefined : batch.arrayLimit,
        jobToken: mintJobToken(await serverSecret(db, 'job_token_key'), batchId),
      });
      distributorIds = result.distributorIds;
      arrayId = result.arrayId;
      for (const [id, message] of result.errors ?? []) {
        await logError(db, id, 'W', `submission failed: ${message}`, { exitCode: null });
      }
    }
    await recordSubmission(db, batchId, distributorIds, arrayId, reportBySeconds);
  }

  const interval = pollIntervalMs(batch.clusterType);
  const temporalWorkflowId = activityInfo().workflowExecution?.workflowId;
  const pending = { reason: undefined as string | null | undefined };
  for (;;) {
    const live = await liveInstances(db, batchId);
    if (live.length === 0) {
      const { done, failed } = await finishBatch(db, batchId);
      return { batchId, done, failed };
    }
    const suspects = live.filter((i) => i.overdue || i.status === 'K');
    if (suspects.length > 0 && (await triage(deps, distributor, suspects, reportBySeconds)) && temporalWorkflowId) {
      // Best effort: the workflow also polls, so a failed signal only delays the retry.
      await deps.notify(temporalWorkflowId).catch(() => undefined);
    }
    await notePendingReason(db, distributor, batchId, live, suspects, pending);
    heartbeat({ batchId, live: live.length });
    // Cancellation-aware: a closed run (continue-as-new, termination) cancels this sleep.
    await sleep(interval);
  }
}

/**
 * Keep the batch's pending reason as the distributor last saw it (queued jobs are asked about once
 * per report-by, in triage): set from the launched instances triage just asked about, cleared once
 * none of the batch's instances is still waiting to start. Written only when it changes.
 */
async function notePendingReason(
  db: Db,
  distributor: Distributor,
  batchId: number,
  live: LiveInstance[],
  suspects: LiveInstance[],
  last: { reason: string | null | undefined },
): Promise<void> {
  if (!distributor.pendingReason) return;
  const asked = suspects.filter((i) => i.status === 'O' && i.distributorId !== null).map((i) => i.distributorId!);
  let reason: string | null | undefined;
  if (asked.length > 0) reason = distributor.pendingReason(asked);
  else if (!live.some((i) => i.status === 'O')) reason = null;
  if (reason === undefined || reason === last.reason) return;
  await recordPendingReason(db, batchId, reason);
  last.reason = reason;
}

/** Decide about instances that missed their report-by or were ordered killed. True if any task changed. */
async function triage(
  deps: MonitorDeps,
  distributor: Distributor,
  suspects: LiveInstance[],
  reportBySeconds: number,
): Promise<boolean> {
  const { db } = deps;
  const ids = suspects.map((i) => i.distributorId).filter((d): d is string => d !== null);
  const alive = ids.length > 0 ? await distributor.liveJobs(ids) : new Set<string>();
  const stillThere: number[] = [];
  let changed = false;
  for (const instance of suspects) {
    const isAlive = instance.distributorId !== null && alive.has(instance.distributorId);
    if (instance.status === 'K') {
      if (!isAlive) {
        await logError(db, instance.id, 'F', 'killed at an operator’s request', { exitCode: null });
        changed = true;
      }
      continue;
    }
    if (isAlive) {
      stillThere.push(instance.id);
      continue;
    }
    changed = true;
    if (instance.status === 'R' || instance.status === 'T') {
      const info = await distributor.remoteExitInfo(instance.distributorId as string);
      // What the batch system's accounting knows (node, elapsed, MaxRSS) goes into the instance.
      const usage = {
        nodename: info.usage?.nodename,
        wallclockS: info.usage?.wallclockS,
        maxrssBytes: info.usage?.maxRssBytes,
      };
      if (info.status === 'D') await logDone(db, instance.id, { exitCode: info.exitCode ?? 0, ...usage });
      else
        await logError(
          db,
          instance.id,
          info.status,
          `lost: no report from the job for ${Math.round(reportBySeconds)} s; ${info.message}`,
          { exitCode: info.exitCode ?? null, ...usage },
        );
      continue;
    }
    const launch =
      instance.distributorId === null ? undefined : await distributor.launchFailure?.(instance.distributorId);
    if (launch) {
      // F: a retry would fail the same way (the message says what to fix); X: retried.
      await logError(db, instance.id, launch.retry ? 'X' : 'F', `job failed to launch: ${launch.message}`, {
        exitCode: null,
      });
    } else {
      const why = instance.distributorId === null ? undefined : distributor.queueingError?.(instance.distributorId);
      await logError(
        db,
        instance.id,
        'X',
        why !== undefined
          ? `job never started: ${why}`
          : `job never reported running within ${Math.round(reportBySeconds)} s and its distributor no longer knows it (${instance.distributorId ?? 'no job id'})`,
        { exitCode: null },
      );
    }
  }
  await extendReportBy(db, stillThere, reportBySeconds);
  return changed;
}
