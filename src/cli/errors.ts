/**
 * How the CLI fails: exit code 2 and ONE readable line on stderr, whatever went wrong — a bad
 * argument, an id the API does not know, a 4xx with the API's message and field, an API that is
 * not running. A stack trace helps nobody who mistyped an id; JMT_DEBUG=1 adds it for bug reports.
 */
import { JobmonClientError } from '../client/api-client';
import { WatchTimeoutError } from '../client/watch';
import { JobmonError } from '../domain/errors';
import type { CliIo } from './output';

export const EXIT_OK = 0;
/** `--wait` saw the run end in anything but DONE. */
export const EXIT_RUN_NOT_DONE = 1;
export const EXIT_ERROR = 2;

/** A problem with what the user typed; the message is shown as is. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** Parse an id or count typed by the user; `what` names it in the error (`workflow id`, `--limit`). */
export function parsePositiveInt(value: string, what: string): number {
  return parseInteger(value, what, 1, 'a positive integer');
}

export function parseNonNegativeInt(value: string, what: string): number {
  return parseInteger(value, what, 0, 'a whole number ≥ 0');
}

function parseInteger(value: string, what: string, min: number, expected: string): number {
  const trimmed = String(value).trim();
  const n = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new CliUsageError(`${what} must be ${expected}, got ${JSON.stringify(value)}`);
  return n;
}

/** One line for any error; returns the exit code. */
export function reportError(err: unknown, io: CliIo, env: NodeJS.ProcessEnv): number {
  const debug = env.JMT_DEBUG === '1' || env.JMT_DEBUG === 'true';
  io.stderr.write(`jmt: ${oneLine(describeError(err))}\n`);
  if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return EXIT_ERROR;
}

export function describeError(err: unknown): string {
  if (err instanceof CliUsageError || err instanceof WatchTimeoutError) return err.message;
  if (err instanceof JobmonClientError) {
    if (err.isUnreachable || err.status === undefined) return err.message;
    if (err.status >= 500) return `the API failed (HTTP ${err.status}): ${err.message}`;
    return withField(err.message, err.field);
  }
  // Domain checks the client makes before sending (template args, task names) throw these.
  if (err instanceof JobmonError) return withField(err.message, err.field);
  const message = err instanceof Error ? err.message : String(err);
  return `unexpected error: ${message} (run with JMT_DEBUG=1 for the stack trace)`;
}

function withField(message: string, field: string | undefined): string {
  return field ? `${message} (field: ${field})` : message;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
