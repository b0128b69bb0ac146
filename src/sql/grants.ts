/**
 * Operator grants (`workflow_grant`, migration 0006): users other than the owner who may act on a
 * workflow. Who may add or remove them is decided by the API (src/api/auth.ts); this module only
 * reads and writes the rows.
 */
import { JobmonError } from '../domain/errors';
import type { Db } from './db';

export interface WorkflowGrant {
  workflow_id: number;
  user: string;
  granted_by: string;
  created_date: string;
}

const toGrant = (r: { workflow_id: number; user: string; granted_by: string; created_date: Date }): WorkflowGrant => ({
  workflow_id: r.workflow_id,
  user: r.user,
  granted_by: r.granted_by,
  created_date: new Date(r.created_date).toISOString(),
});

/** Grants in force, oldest first (the order they were given). */
export async function listGrants(db: Db, workflowId: number): Promise<WorkflowGrant[]> {
  const rows = await db
    .selectFrom('workflow_grant')
    .select(['workflow_id', 'user', 'granted_by', 'created_date'])
    .where('workflow_id', '=', workflowId)
    .orderBy('created_date')
    .orderBy('user')
    .execute();
  return rows.map(toGrant);
}

/**
 * Grant `user` the workflow. Granting again is not an error (the operator's intent — bob may act —
 * holds either way) but keeps the first grant's `granted_by` and date: `created` says which case it was.
 */
export async function addGrant(
  db: Db,
  workflowId: number,
  user: string,
  grantedBy: string,
): Promise<{ grant: WorkflowGrant; created: boolean }> {
  const inserted = await db
    .insertInto('workflow_grant')
    .values({ workflow_id: workflowId, user, granted_by: grantedBy })
    .onConflict((oc) => oc.columns(['workflow_id', 'user']).doNothing())
    .returning(['workflow_id', 'user', 'granted_by', 'created_date'])
    .executeTakeFirst();
  if (inserted) return { grant: toGrant(inserted), created: true };
  const existing = await db
    .selectFrom('workflow_grant')
    .select(['workflow_id', 'user', 'granted_by', 'created_date'])
    .where('workflow_id', '=', workflowId)
    .where('user', '=', user)
    .executeTakeFirstOrThrow();
  return { grant: toGrant(existing), created: false };
}

/** Remove the grant; a user who holds none is a 404 naming `user`, so a typo is not a silent success. */
export async function removeGrant(db: Db, workflowId: number, user: string): Promise<WorkflowGrant> {
  const removed = await db
    .deleteFrom('workflow_grant')
    .where('workflow_id', '=', workflowId)
    .where('user', '=', user)
    .returning(['workflow_id', 'user', 'granted_by', 'created_date'])
    .executeTakeFirst();
  if (!removed) {
    throw new JobmonError(
      'not_found',
      `user ${user} holds no grant on workflow ${workflowId}`,
      'user',
      'grant_not_found',
    );
  }
  return toGrant(removed);
}
