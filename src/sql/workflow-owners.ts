/**
 * Who owns a workflow, for distributors that run jobs as the owner's account (Slurm). Distributors
 * get this narrow lookup instead of a database handle (docs/design.md, Layers): what they may read
 * is exactly these two questions.
 */
import type { Db } from './db';

export interface WorkflowOwners {
  /** The owner (`workflow.user`) of a workflow; undefined when there is no such workflow. */
  ofWorkflow(workflowId: number): Promise<string | undefined>;
  /**
   * The workflow and owner of the batch submitted as this array job (after a worker restart the
   * distributor no longer remembers it). A batch split into chunks records its array ids joined
   * by commas, so the id may stand anywhere in that list.
   */
  ofArray(arrayJobId: string): Promise<{ workflowId: number; user: string } | undefined>;
}

export function workflowOwners(db: Db): WorkflowOwners {
  return {
    async ofWorkflow(workflowId) {
      const row = await db.selectFrom('workflow').select('user').where('id', '=', workflowId).executeTakeFirst();
      return row?.user;
    },
    async ofArray(arrayJobId) {
      const row = await db
        .selectFrom('task_batch as b')
        .innerJoin('workflow as w', 'w.id', 'b.workflow_id')
        .select(['w.user', 'w.id'])
        .where((eb) =>
          eb.or([
            eb('b.distributor_array_id', '=', arrayJobId),
            eb('b.distributor_array_id', 'like', `${arrayJobId},%`),
            eb('b.distributor_array_id', 'like', `%,${arrayJobId}`),
            eb('b.distributor_array_id', 'like', `%,${arrayJobId},%`),
          ]),
        )
        .executeTakeFirst();
      return row ? { workflowId: Number(row.id), user: row.user } : undefined;
    },
  };
}
