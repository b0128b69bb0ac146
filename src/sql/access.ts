/**
 * The reads behind authorisation (src/api/auth.ts, src/sql/bind-store.ts): a workflow's owner and
 * whether a user holds a grant on it, and the batch a task instance belongs to (job tokens).
 */
import type { Kysely } from 'kysely';
import type { WorkflowAccess } from '../domain/access';
import type { Database } from './schema';

type Reader = Pick<Kysely<Database>, 'selectFrom'>;

/** Owner of the workflow and whether `user` is granted it; undefined for an unknown workflow. */
export async function workflowAccess(
  db: Reader,
  workflowId: number,
  user: string,
): Promise<WorkflowAccess | undefined> {
  const row = await db
    .selectFrom('workflow')
    .select((eb) => [
      'workflow.user',
      eb
        .exists(
          eb
            .selectFrom('workflow_grant')
            .select('workflow_grant.user')
            .whereRef('workflow_grant.workflow_id', '=', 'workflow.id')
            .where('workflow_grant.user', '=', user),
        )
        .as('granted'),
    ])
    .where('workflow.id', '=', workflowId)
    .executeTakeFirst();
  return row ? { owner: row.user, granted: Boolean(row.granted) } : undefined;
}

/** The batch of a task instance (it never changes once written); undefined for an unknown instance. */
export async function batchIdOfInstance(db: Reader, instanceId: number): Promise<number | undefined> {
  const row = await db.selectFrom('task_instance').select('batch_id').where('id', '=', instanceId).executeTakeFirst();
  return row ? Number(row.batch_id) : undefined;
}
