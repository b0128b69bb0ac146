/**
 * Every operator control is appended to the workflow's audit log (`workflow_event`): who, what,
 * when, on which run, and how it ended. Called only after the caller passed the role and owner
 * checks, so refusals by auth (403) are not written into someone else's log; refusals of the
 * control itself (409 run_active, 422 unknown template, 503 Temporal down) are, with their code.
 *
 * `auditedTransaction` is for controls whose whole write is in Postgres (grants): the write and its
 * event commit together or not at all, so a failed event can never leave an unrecorded change.
 */
import { JobmonError } from '../domain/errors';
import type { Db } from '../sql/db';
import { currentRunId, recordEvent, type OperatorAction } from '../sql/events';
import type { Identity } from './auth';

export interface AuditOutcome {
  workflowRunId?: number | null;
  details?: Record<string, unknown>;
}

export async function audited<T>(
  db: Db,
  identity: Identity,
  workflowId: number,
  action: OperatorAction,
  details: Record<string, unknown>,
  fn: () => Promise<T>,
  outcome: (result: T) => AuditOutcome = () => ({}),
): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await recordRefusal(db, identity, workflowId, action, details, err);
    throw err;
  }
  await recordSuccess(db, identity, workflowId, action, details, outcome(result));
  return result;
}

/** As `audited`, with `fn`'s writes and the success event in one transaction. */
export async function auditedTransaction<T>(
  db: Db,
  identity: Identity,
  workflowId: number,
  action: OperatorAction,
  details: Record<string, unknown>,
  fn: (trx: Db) => Promise<T>,
  outcome: (result: T) => AuditOutcome = () => ({}),
): Promise<T> {
  try {
    return await db.transaction().execute(async (trx) => {
      const result = await fn(trx);
      await recordSuccess(trx, identity, workflowId, action, details, outcome(result));
      return result;
    });
  } catch (err) {
    await recordRefusal(db, identity, workflowId, action, details, err);
    throw err;
  }
}

async function recordSuccess(
  db: Db,
  identity: Identity,
  workflowId: number,
  action: OperatorAction,
  details: Record<string, unknown>,
  extra: AuditOutcome,
): Promise<void> {
  await recordEvent(db, {
    workflowId,
    workflowRunId: extra.workflowRunId !== undefined ? extra.workflowRunId : await currentRunId(db, workflowId),
    user: identity.user,
    action,
    details: { ...details, ...extra.details },
  });
}

/** A refused control is recorded with its code; a failure to record it is the server's to see. */
async function recordRefusal(
  db: Db,
  identity: Identity,
  workflowId: number,
  action: OperatorAction,
  details: Record<string, unknown>,
  err: unknown,
): Promise<void> {
  const code = err instanceof JobmonError ? err.code : 'internal';
  try {
    await recordEvent(db, {
      workflowId,
      workflowRunId: await currentRunId(db, workflowId),
      user: identity.user,
      action,
      result: code,
      details: { ...details, message: err instanceof Error ? err.message : String(err) },
    });
  } catch (recordErr) {
    process.stderr.write(`audit: could not record refused ${action} on workflow ${workflowId}: ${String(recordErr)}\n`);
  }
}
