/**
 * The one error type that crosses layers with a meaning for users: the API maps it to an HTTP
 * status with `{ error: { code, message, field } }`, the CLI prints `message` and exits 2.
 * Anything else that escapes is a bug (HTTP 500, logged with its stack).
 */
export type ErrorKind =
  'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unauthorized' | 'too_large' | 'unavailable';

const HTTP_STATUS: Record<ErrorKind, 400 | 401 | 403 | 404 | 409 | 413 | 422 | 503> = {
  invalid: 422,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unauthorized: 401,
  too_large: 413,
  /** A service the request needs (Temporal) is down; reads from Postgres keep working. */
  unavailable: 503,
};

export class JobmonError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Dotted path of the offending input, e.g. `tasks[12].upstream[0]`. */
    readonly field?: string,
    /** Short machine-readable code, e.g. `cycle`, `unknown_upstream`, `run_active`. */
    readonly code: string = kind,
  ) {
    super(message);
    this.name = 'JobmonError';
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.kind];
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const invalid = (field: string, message: string, code = 'invalid') =>
  new JobmonError('invalid', message, field, code);
/** `field` names the input that held the id (`id` for a path parameter) when the answer should say so. */
export const notFound = (what: string, id: number | string, field?: string) =>
  new JobmonError('not_found', `${what} ${id} not found`, field, 'not_found');
export const conflict = (message: string, code = 'conflict') => new JobmonError('conflict', message, undefined, code);
