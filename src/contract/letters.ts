/**
 * Jobmon's status letters as schema enums that say what each letter means, so the published
 * document (and a Python or R user reading it) need not guess: `G = REGISTERING, Q = QUEUED, ...`.
 */
import { z } from '@hono/zod-openapi';
import { TASK_INSTANCE_STATUSES, TASK_STATUSES, WORKFLOW_RUN_STATUSES, WORKFLOW_STATUSES } from '../domain/statuses';

function letters<T extends Record<string, string>>(table: T, what: string) {
  const keys = Object.keys(table) as [keyof T & string, ...(keyof T & string)[]];
  const meaning = keys.map((k) => `${k} = ${table[k]}`).join(', ');
  return z.enum(keys).openapi({ description: `${what} status letter (Jobmon's): ${meaning}` });
}

export const TaskStatusSchema = letters(TASK_STATUSES, 'Task');
export const TaskInstanceStatusSchema = letters(TASK_INSTANCE_STATUSES, 'Task instance');
export const WorkflowStatusLetterSchema = letters(WORKFLOW_STATUSES, 'Workflow');
export const WorkflowRunStatusSchema = letters(WORKFLOW_RUN_STATUSES, 'Workflow run');
