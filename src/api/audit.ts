/**
 * Every accepted operator control is in the workflow's audit log (`workflow_event`): who, what,
 * when, on which run, and its outcome. A refused one (409 run_active, 422 unknown template, 503
 * Temporal down, and auth's 403 before it) writes nothing to the database — a 4xx or 5xx leaves
 * every table as it was (issue #13) — and is written to the structured log instead (one JSON line
 * on stderr, `audit_refused`), so refused attempts stay visible to the site's log collection.
 *
 * Controls that act outside Postgres (Temporal signals and updates, and whatever else `fn` does)
 * cannot share a transaction with their event. Their event is therefore written *before* they act,
 * as `pending`, then settled to `ok` with the outcome, or deleted when the control is refused.
 * Why this order: a control that was acknowledged always has its row (if settling fails, the row
 * stays `pending`, and the answer is still the control's success); the reverse order (event after
 * the signal) could lose the row of a signal already delivered. A process that dies mid-control
 * leaves a `pending` row: "attempted, outcome unknown", which is the truth.
 *
 * `auditedTransaction` is for controls whose whole write is in Postgres (grants): the write and its
 * event commit together or not at all, so a failed event can never leave an unrecorded change.
 */
import { JobmonError } from '../domain/errors';
import type { Db } from '../sql/db';
import { currentRunId, deleteEvent, insertEvent, recordEvent, settleEvent, type OperatorAction } from '../sql/events';
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
  const eventId = await insertEvent(db, {
    workflowId,
    workflowRunId: await currentRunId(db, workflowId),
    user: identity.user,
    action,
    result: 'pending',
    details,
  });
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await deleteEvent(db, eventId).catch((deleteErr: unknown) => {
      process.stderr.write(`audit: could not remove the event of refused ${action}: ${String(deleteErr)}\n`);
    });
    logRefusal(identity, workflowId, action, details, err);
    throw err;
  }
  const extra = outcome(result);
  try {
    await settleEvent(db, eventId, {
      result: 'ok',
      workflowRunId: extra.workflowRunId,
      details: { ...details, ...extra.details },
    });
  } catch (settleErr) {
    // The control took effect: answer its success; its row stays `pending` (see the header).
    process.stderr.write(
      `audit: ${action} on workflow ${workflowId} done, event ${eventId} left pending: ${String(settleErr)}\n`,
    );
  }
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
      const extra = outcome(result);
      await recordEvent(trx, {
        workflowId,
        workflowRunId: extra.workflowRunId !== undefined ? extra.workflowRunId : await currentRunId(trx, workflowId),
        user: identity.user,
        action,
        details: { ...details, ...extra.details },
      });
      return result;
    });
  } catch (err) {
    logRefusal(identity, workflowId, action, details, err);
    throw err;
  }
}

/** A refused control goes to the structured log, not the database (nothing refused is written). */
function logRefusal(
  identity: Identity,
  workflowId: number,
  action: OperatorAction,
  details: Record<string, unknown>,
  err: unknown,
): void {
  const line = {
    event: 'audit_refused',
    time: new Date().toISOString(),
    workflow_id: workflowId,
    user: identity.user,
    action,
    code: err instanceof JobmonError ? err.code : 'internal',
    message: err instanceof Error ? err.message : String(err),
    details,
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}
