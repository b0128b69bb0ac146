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
  /**
   * Key of each task in the bind request → its task id, as the JSON text of one object, built by
   * Postgres and passed through untouched: at 100,000 tasks (2.5 MB) reading the rows into an
   * object and serialising it again held the API's event loop for ~150 ms (heartbeats waited).
   */
  taskIdsJson: string | undefined;
  /**
   * The same, parsed on first read (callers in this process, e.g. tests; the API never reads it);
   * empty when the bind did not ask for them.
   */
  readonly taskIds: Record<string, number>;
  /** Per cluster name: requested resource keys its type ignores (sorted). */
  ignoredResourceKeys: Record<string, string[]>;
}

/** `withTaskIds`: build the key → task id map (false: one aggregate over every task row spared). */
export async function finishBind(
  trx: Trx,
  plan: BindPlan,
  workflowId: number,
  withTaskIds: boolean,
): Promise<BindAnswerExtras> {
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

  // ::text so the driver hands the string over instead of parsing it (json columns are parsed).
  const taskIdsJson = withTaskIds
    ? (
        await sql<{ ids: string }>`
    select coalesce(json_object_agg(key, id)::text, '{}') as ids
    from task where workflow_id = ${workflowId}::int and key is not null`.execute(trx)
      ).rows[0].ids
    : undefined;

  const clusters = await trx.selectFrom('cluster').select(['name', 'cluster_type']).execute();
  const types = new Map(clusters.map((c) => [c.name, c.cluster_type]));
  let parsed: Record<string, number> | undefined;
  return {
    taskIdsJson,
    get taskIds() {
      return (parsed ??= taskIdsJson === undefined ? {} : (JSON.parse(taskIdsJson) as Record<string, number>));
    },
    ignoredResourceKeys: ignoredResourceKeys(plan.resources.values(), types),
  };
}
