/**
 * What a bind answers beyond the workflow id (issue 17), written and read inside the bind's own
 * transaction: the working directories the commands will run in (recorded on every bind, since a
 * resume from another directory runs there, as a Jobmon rerun would), each task key's task id,
 * and the requested resource keys that the workflow's clusters will not act on.
 */
import { sql, type Transaction } from 'kysely';
import type { BindPlan } from '../domain/bind-plan';
import { ignoredResourceKeys } from '../domain/cluster-keys';
import type { Database } from './schema';

type Trx = Transaction<Database>;

export interface BindAnswerExtras {
  /** Key of each task in the bind request → its task id. */
  taskIds: Record<string, number>;
  /** Per cluster name: requested resource keys its type ignores (sorted). */
  ignoredResourceKeys: Record<string, string[]>;
}

export async function finishBind(trx: Trx, plan: BindPlan, workflowId: number): Promise<BindAnswerExtras> {
  await trx
    .updateTable('workflow')
    .set({ working_dir: plan.draft.workflow.workingDir ?? null })
    .where('id', '=', workflowId)
    .execute();
  const templates = plan.usedTemplates;
  await sql`
    update array_ a set working_dir = u.working_dir
      from unnest(${templates.map((t) => t.name)}::text[], ${templates.map((t) => t.workingDir ?? null)}::text[])
        as u(name, working_dir)
     where a.workflow_id = ${workflowId}::int and a.name = u.name
       and a.working_dir is distinct from u.working_dir`.execute(trx);

  const rows = await trx
    .selectFrom('task')
    .select(['id', 'key'])
    .where('workflow_id', '=', workflowId)
    .where('key', 'is not', null)
    .execute();
  const taskIds: Record<string, number> = {};
  for (const r of rows) taskIds[r.key as string] = Number(r.id);

  const clusters = await trx.selectFrom('cluster').select(['name', 'cluster_type']).execute();
  const types = new Map(clusters.map((c) => [c.name, c.cluster_type]));
  return { taskIds, ignoredResourceKeys: ignoredResourceKeys(plan.resources.values(), types) };
}
