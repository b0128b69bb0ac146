/**
 * Task counts as the status views show them: per status letter, per Jobmon CLI bucket, and the
 * percentage done; plus the list parsing shared by the reads' filters.
 */
import { TASK_STATUSES, type TaskBucket, type TaskStatus } from '../../domain/statuses';

export type Buckets = Record<TaskBucket, number>;
export type StatusCounts = Record<TaskStatus, number>;

export const TASK_LETTERS = Object.keys(TASK_STATUSES) as TaskStatus[];
export const BUCKET_NAMES: readonly TaskBucket[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'];

export const emptyCounts = (): StatusCounts => Object.fromEntries(TASK_LETTERS.map((l) => [l, 0])) as StatusCounts;
export const emptyBuckets = (): Buckets => ({ PENDING: 0, SCHEDULED: 0, RUNNING: 0, DONE: 0, FATAL: 0 });
/** One decimal, as Jobmon's CLI shows it; an empty workflow is 0 % done, not NaN. */
export const percent = (done: number, total: number): number =>
  total > 0 ? Math.round((done / total) * 1000) / 10 : 0;

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `%` and `_` in a user's search text are literal, not wildcards. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
