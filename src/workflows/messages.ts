/**
 * Signals, updates and queries of a workflow run, exported next to the workflow so that the API,
 * the CLI and plain Temporal clients use the same typed handles.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type StopMode = 'drain' | 'kill';

export interface ConcurrencyChange {
  /** New limit; 0 holds back every new submission (Jobmon's pause by concurrency). */
  limit: number;
  /** Task template name; absent = the workflow-wide limit. */
  template?: string;
}
export interface ConcurrencyLimits {
  workflow: number;
  templates: Record<string, number>;
}

export interface RunState {
  workflowId: number;
  workflowRunId: number;
  paused: boolean;
  stopping: StopMode | null;
  activeBatches: number;
  /** Task counts by status letter as of the last scheduling pass. */
  counts: Partial<Record<string, number>>;
  /** How many times this run has continued as new (each keeps history small). */
  continuations: number;
}

/** Sent by the API when a task instance finished: schedule what became ready. Coalesced by the sender. */
export const tasksChangedSignal = defineSignal('tasksChanged');
/** Stop submitting new work; running jobs go on (Jobmon "drain"). */
export const pauseSignal = defineSignal('pause');
export const unpauseSignal = defineSignal('unpause');
/** End the run: `drain` waits for running jobs, `kill` terminates them. The workflow stays resumable. */
export const stopSignal = defineSignal<[StopMode]>('stop');
export const setConcurrencyUpdate = defineUpdate<ConcurrencyLimits, [ConcurrencyChange]>('setConcurrency');
/**
 * Kill the jobs of these tasks (operator set-status with force): their live instances become
 * KILL_SELF and the distributor terminates them. Answers how many jobs were told to stop. An update,
 * not a signal, so the API knows the kill landed before it changes the tasks' statuses.
 */
export const killTasksUpdate = defineUpdate<number, [{ taskIds: number[] }]>('killTasks');
/** Most task ids per killTasks update: keeps the payload far under Temporal's 2 MiB. */
export const MAX_KILL_TASK_IDS = 5_000;
export const runStateQuery = defineQuery<RunState>('runState');
