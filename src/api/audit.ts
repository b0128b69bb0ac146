/**
 * Every operator control is appended to the workflow's audit log (`workflow_event`): who, what,
 * when, on which run, and how it ended. Called only after the caller passed the role and owner
 * checks, so refusals by auth (403) are not written into someone else's log; refusals of the
 * control itself (409 run_active, 422 unknown template, 503 Temporal down) are, with their code.
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
      // The caller gets the original error; the failed audit write is the server's to see.
      process.stderr.write(
        `audit: could not record refused ${action} on workflow ${workflowId}: ${String(recordErr)}\n`,
      );
    }
    throw err;
  }
  const extra = outcome(result);
  await recordEvent(db, {
    workflowId,
    workflowRunId: extra.workflowRunId !== undefined ? extra.workflowRunId : await currentRunId(db, workflowId),
    user: identity.user,
    action,
    details: { ...details, ...extra.details },
  });
  return result;
}
