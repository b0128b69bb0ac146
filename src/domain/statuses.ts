/**
 * Jobmon's status letters for the four stateful entities, kept verbatim so Jobmon users recognise
 * them in the API, CLI and database. Allowed transitions live in `fsm.ts`; nothing else decides
 * whether a status may change.
 */

export const WORKFLOW_STATUSES = {
  G: 'REGISTERING',
  Q: 'QUEUED',
  A: 'ABORTED',
  I: 'INSTANTIATING',
  O: 'LAUNCHED',
  R: 'RUNNING',
  D: 'DONE',
  H: 'HALTED',
  F: 'FAILED',
} as const;
export type WorkflowStatus = keyof typeof WORKFLOW_STATUSES;

export const WORKFLOW_RUN_STATUSES = {
  G: 'REGISTERED',
  L: 'LINKING',
  B: 'BOUND',
  A: 'ABORTED',
  I: 'INSTANTIATED',
  O: 'LAUNCHED',
  R: 'RUNNING',
  D: 'DONE',
  S: 'STOPPED',
  E: 'ERROR',
  C: 'COLD_RESUME',
  H: 'HOT_RESUME',
  T: 'TERMINATED',
} as const;
export type WorkflowRunStatus = keyof typeof WORKFLOW_RUN_STATUSES;

export const TASK_STATUSES = {
  G: 'REGISTERING',
  Q: 'QUEUED',
  I: 'INSTANTIATING',
  O: 'LAUNCHED',
  R: 'RUNNING',
  D: 'DONE',
  E: 'ERROR_RECOVERABLE',
  A: 'ADJUSTING_RESOURCES',
  F: 'ERROR_FATAL',
} as const;
export type TaskStatus = keyof typeof TASK_STATUSES;

export const TASK_INSTANCE_STATUSES = {
  Q: 'QUEUED',
  I: 'INSTANTIATED',
  O: 'LAUNCHED',
  B: 'SUBMITTED_TO_BATCH_DISTRIBUTOR',
  R: 'RUNNING',
  D: 'DONE',
  E: 'ERROR',
  F: 'ERROR_FATAL',
  K: 'KILL_SELF',
  T: 'TRIAGING',
  U: 'UNKNOWN_ERROR',
  W: 'NO_DISTRIBUTOR_ID',
  X: 'NO_HEARTBEAT',
  Z: 'RESOURCE_ERROR',
} as const;
export type TaskInstanceStatus = keyof typeof TASK_INSTANCE_STATUSES;

/** Tasks that occupy a concurrency slot (Jobmon's ACTIVE_TASK_STATUSES). */
export const IN_FLIGHT_TASK_STATUSES = ['Q', 'I', 'O', 'R'] as const satisfies readonly TaskStatus[];
/** Tasks the scheduler may pick up once their upstreams are DONE. */
export const SCHEDULABLE_TASK_STATUSES = ['G', 'A'] as const satisfies readonly TaskStatus[];
/** Task statuses that end a task for this run. */
export const FINAL_TASK_STATUSES = ['D', 'F'] as const satisfies readonly TaskStatus[];

/** TaskInstance statuses after which the instance will never change again (except untimely reports). */
export const FINAL_TASK_INSTANCE_STATUSES = [
  'D',
  'E',
  'F',
  'U',
  'W',
  'Z',
] as const satisfies readonly TaskInstanceStatus[];
/** TaskInstance error statuses that send the task through `transition_after_task_instance_error`. */
export const TASK_INSTANCE_ERROR_STATUSES = ['E', 'U', 'W', 'Z'] as const satisfies readonly TaskInstanceStatus[];
/** TaskInstance statuses of a job that may still be alive on its distributor. */
export const LIVE_TASK_INSTANCE_STATUSES = [
  'Q',
  'I',
  'O',
  'R',
  'K',
  'T',
] as const satisfies readonly TaskInstanceStatus[];

/** WorkflowRun statuses of a run that may still act: at most one per workflow (a partial unique index). */
export const ACTIVE_WORKFLOW_RUN_STATUSES = [
  'G',
  'L',
  'B',
  'I',
  'O',
  'R',
  'C',
  'H',
] as const satisfies readonly WorkflowRunStatus[];
/** Final WorkflowRun statuses: the run's Temporal execution has ended. */
export const FINAL_WORKFLOW_RUN_STATUSES = ['D', 'S', 'E', 'T', 'A'] as const satisfies readonly WorkflowRunStatus[];

/** Buckets the CLI and GUI show (Jobmon's repositories/task_repository.py). */
export type TaskBucket = 'PENDING' | 'SCHEDULED' | 'RUNNING' | 'DONE' | 'FATAL';
export function taskBucket(status: TaskStatus): TaskBucket {
  switch (status) {
    case 'O':
      return 'SCHEDULED';
    case 'R':
      return 'RUNNING';
    case 'D':
      return 'DONE';
    case 'F':
      return 'FATAL';
    default:
      return 'PENDING';
  }
}

export function isOneOf<T extends string>(value: string, set: readonly T[]): value is T {
  return (set as readonly string[]).includes(value);
}

/**
 * Own keys only: `"constructor" in TASK_STATUSES` is true (the prototype's), so user input must
 * never be looked up with `in`.
 */
export const isTaskStatus = (value: string): value is TaskStatus => Object.hasOwn(TASK_STATUSES, value);
export const isWorkflowStatus = (value: string): value is WorkflowStatus => Object.hasOwn(WORKFLOW_STATUSES, value);
