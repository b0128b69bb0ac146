/**
 * The one place that says which status changes are allowed (Jobmon's finite state machines,
 * `docsource/architecture/finite_state_machine.rst` and the models' transition tables).
 *
 * Every writer (SQL projection, API callbacks, activities) asks `decide*` before it updates a row,
 * and the SQL layer repeats the allowed source statuses in its WHERE clause so that two racing
 * writers cannot both win. "Untimely" transitions are races Jobmon tolerates: they are ignored
 * without an error (e.g. a wrapper reporting RUNNING after the monitor already marked it lost).
 */
import type { TaskInstanceStatus, TaskStatus, WorkflowRunStatus, WorkflowStatus } from './statuses';

type Table<S extends string> = Readonly<Partial<Record<S, readonly S[]>>>;

export const WORKFLOW_TRANSITIONS: Table<WorkflowStatus> = {
  G: ['Q', 'A'],
  A: ['G'],
  // Q→R/D/F/H: a run can start straight from QUEUED; we have no separate instantiate step.
  Q: ['I', 'F', 'H', 'R', 'D'],
  I: ['O', 'F', 'R'],
  O: ['F', 'R'],
  R: ['H', 'D', 'F'],
  // Resume: a halted or failed workflow is registered again by a new run.
  F: ['G', 'Q', 'R'],
  H: ['G', 'Q', 'R'],
  // A DONE workflow only moves again when an operator marks tasks to run again.
  D: ['Q'],
};
export const WORKFLOW_UNTIMELY: Table<WorkflowStatus> = { G: ['G'], R: ['R'] };

export const WORKFLOW_RUN_TRANSITIONS: Table<WorkflowRunStatus> = {
  G: ['L'],
  L: ['B', 'A'],
  B: ['I', 'R', 'E', 'C', 'H', 'S'],
  I: ['O', 'E', 'R'],
  O: ['R', 'E'],
  R: ['D', 'S', 'C', 'H', 'E'],
  C: ['T'],
  H: ['T'],
};
export const WORKFLOW_RUN_UNTIMELY: Table<WorkflowRunStatus> = { R: ['R'], L: ['L'] };

export const TASK_TRANSITIONS: Table<TaskStatus> = {
  G: ['Q'],
  A: ['Q'],
  Q: ['I', 'O', 'R', 'E'],
  I: ['O', 'E', 'R'],
  O: ['R', 'E', 'D'],
  R: ['D', 'E'],
  E: ['A', 'Q', 'F', 'G'],
};
// A DONE task reported done again, or an error for a task already done, is a duplicate report.
export const TASK_UNTIMELY: Table<TaskStatus> = { D: ['D', 'E', 'R'], F: ['F'] };

export const TASK_INSTANCE_TRANSITIONS: Table<TaskInstanceStatus> = {
  // Q→R: the local executor starts a job within milliseconds of its submission, so its running
  // report may arrive before the submission is recorded (recordSubmission then keeps R).
  Q: ['I', 'O', 'K', 'W', 'F', 'R'],
  I: ['O', 'W', 'K', 'R', 'F'],
  // O→D and O→E: a fast job may report its end before its start report arrives.
  O: ['R', 'U', 'X', 'Z', 'K', 'F', 'D', 'E'],
  R: ['T', 'E', 'U', 'Z', 'K', 'D', 'F'],
  T: ['R', 'Z', 'U', 'F', 'E', 'D'],
  K: ['F', 'D'],
  X: ['E'],
};
export const TASK_INSTANCE_UNTIMELY: Table<TaskInstanceStatus> = {
  R: ['O', 'R'],
  E: ['O', 'U', 'E', 'R', 'D', 'Z'],
  U: ['D', 'E', 'Z', 'R', 'U'],
  Z: ['U', 'Z', 'R', 'E'],
  D: ['U', 'D', 'R', 'E', 'Z'],
  K: ['E', 'Z', 'U', 'K'],
  F: ['R', 'D', 'E', 'U', 'Z', 'F'],
  W: ['R', 'D', 'E', 'U', 'W'],
};

export type Decision = 'apply' | 'untimely' | 'illegal';

function decide<S extends string>(allowed: Table<S>, untimely: Table<S>, from: S, to: S): Decision {
  if (allowed[from]?.includes(to)) return 'apply';
  if (untimely[from]?.includes(to)) return 'untimely';
  return 'illegal';
}

export const decideWorkflow = (from: WorkflowStatus, to: WorkflowStatus) =>
  decide(WORKFLOW_TRANSITIONS, WORKFLOW_UNTIMELY, from, to);
export const decideWorkflowRun = (from: WorkflowRunStatus, to: WorkflowRunStatus) =>
  decide(WORKFLOW_RUN_TRANSITIONS, WORKFLOW_RUN_UNTIMELY, from, to);
export const decideTask = (from: TaskStatus, to: TaskStatus) => decide(TASK_TRANSITIONS, TASK_UNTIMELY, from, to);
export const decideTaskInstance = (from: TaskInstanceStatus, to: TaskInstanceStatus) =>
  decide(TASK_INSTANCE_TRANSITIONS, TASK_INSTANCE_UNTIMELY, from, to);

/** Source statuses from which `to` may be reached: used in SQL `WHERE status IN (...)` guards. */
export function sourcesOf<S extends string>(table: Table<S>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((from) => table[from]?.includes(to));
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly entity: string,
    readonly id: number,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${entity} ${id}: illegal status change ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/**
 * Jobmon's `transition_after_task_instance_error`: what a task becomes when one of its instances
 * fails. Resource errors with attempts left go to ADJUSTING_RESOURCES so the retry asks for more.
 */
export function taskStatusAfterInstanceError(
  instanceStatus: TaskInstanceStatus,
  numAttempts: number,
  maxAttempts: number,
): TaskStatus {
  if (numAttempts >= maxAttempts) return 'F';
  return instanceStatus === 'Z' ? 'A' : 'G';
}
