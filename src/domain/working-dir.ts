/**
 * The directory a task's command runs in (Jobmon's behaviour: the control script's working
 * directory, which clients record at bind; a template may name its own). Checked here so a bad
 * value is a 422 naming the field, never a job failing later on every node.
 */
import { invalid } from './errors';

/** Longest path accepted (Linux PATH_MAX). */
export const MAX_WORKING_DIR_LENGTH = 4096;

/** An absolute directory path, or undefined when the field is absent or null. */
export function optionalWorkingDir(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw invalid(field, `${field} must be an absolute directory path (starting with /)`);
  }
  if (value.length > MAX_WORKING_DIR_LENGTH) {
    throw invalid(field, `${field} is longer than ${MAX_WORKING_DIR_LENGTH} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(field, `${field} contains a control character`);
  return value;
}
