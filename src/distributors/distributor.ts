/**
 * The one interface every distributor implements (Jobmon's ClusterDistributor protocol, reduced
 * to what the batch monitor needs). Real distributors launch the worker-node wrapper
 * (`src/worker-node`), which reports start, heartbeats and end to the API; the monitor activity
 * only asks the distributor about jobs whose wrapper went silent.
 */
import type { Resources } from '../domain/resources';
import type { TaskInstanceStatus } from '../domain/statuses';

export type ClusterType = 'dummy' | 'sequential' | 'multiprocess' | 'slurm';

export interface SubmitInstance {
  taskInstanceId: number;
  /** Position in the batch (1-based), Slurm's array task id. */
  arrayStepId: number;
  taskName: string;
}

export interface SubmitRequest {
  batchId: number;
  workflowId: number;
  workflowRunId: number;
  clusterName: string;
  /** Name for the job/array on the distributor, e.g. `<template>-<batch id>`. */
  jobName: string;
  resources: Resources;
  instances: SubmitInstance[];
  /** Most instances of this batch that may run at once (array throttle); undefined = no limit. */
  concurrencyLimit?: number;
  /**
   * What the batch's wrappers present to the API as JMT_TOKEN (src/domain/job-tokens.ts): it
   * authorises the callbacks of this batch's instances and nothing else. Undefined in unit tests.
   */
  jobToken?: string;
  /**
   * The directory the batch's commands run in (the template's, else the workflow's, recorded at
   * bind): relative `stdout` / `stderr` log directories are taken from it. Undefined for workflows
   * bound before it was recorded (then the server's log directory of the workflow is used).
   */
  workingDir?: string;
}

export interface SubmitResult {
  /** Distributor job id per task instance id. Instances missing here could not be submitted. */
  distributorIds: Map<number, string>;
  /** Id of the whole array, where the distributor has one. */
  arrayId?: string;
  /** Per-instance submission errors (they become NO_DISTRIBUTOR_ID, W). */
  errors?: Map<number, string>;
}

/** What the distributor knows about a job that stopped reporting. */
export interface RemoteExitInfo {
  status: Extract<TaskInstanceStatus, 'D' | 'E' | 'Z' | 'U' | 'F'>;
  exitCode?: number;
  message: string;
  /** What the batch system's accounting recorded about the job, where it has it (Slurm: slurmdbd). */
  usage?: { nodename?: string; wallclockS?: number; maxRssBytes?: number };
}

export interface Distributor {
  readonly clusterType: ClusterType;
  submit(request: SubmitRequest): Promise<SubmitResult>;
  /** The subset of `distributorIds` that is still queued or running on the distributor. */
  liveJobs(distributorIds: string[]): Promise<Set<string>>;
  /** Why a job ended, for a job whose wrapper went silent (Jobmon's get_remote_exit_info). */
  remoteExitInfo(distributorId: string): Promise<RemoteExitInfo>;
  /**
   * Optional (Jobmon's get_queueing_errors): why a job that never started is no longer live, when
   * the distributor itself removed it from its queue (a job its batch system would never start).
   */
  queueingError?(distributorId: string): string | undefined;
  /**
   * Optional: why a job whose wrapper never reported running has already ended on the distributor
   * (a launch failure: the batch system could not start it), with the batch system's own words;
   * `retry` false when a retry cannot help (e.g. an output path the job account cannot write).
   * Undefined when the job did not end that way.
   */
  launchFailure?(distributorId: string): Promise<{ message: string; retry: boolean } | undefined>;
  /**
   * Optional: why the batch system keeps these jobs waiting, as it said at the last `liveJobs` of
   * them (no call of its own): the most common pending reason among them (Slurm's `Resources`,
   * `QOSMaxJobsPerUserLimit`, `ReqNodeNotAvail,...`), null when none of them waits for a reason
   * (started, or queued without one yet).
   */
  pendingReason?(distributorIds: string[]): string | null;
  /** Kill these jobs (cold resume, stop --kill). Unknown or finished ids are ignored. */
  terminate(distributorIds: string[]): Promise<void>;
  /**
   * Optional: change the throttle of arrays already queued (a concurrency limit changed at run
   * time). `arrayIds` are SubmitResult.arrayId values; `limit` ≥ 2,147,483,647 means no limit.
   */
  setArrayThrottle?(arrayIds: string[], limit: number): Promise<void>;
  /** Stop background work; running jobs are left alone. */
  close(): Promise<void>;
}
