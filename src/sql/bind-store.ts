/**
 * Writing a checked BindPlan, inside the caller's transaction: tool, tool version and templates
 * (get-or-create), then either a new workflow with all its rows, or, when the workflow already
 * exists (same identity: a resume), an update of its mutable fields (rows in bind-rows.ts).
 */
import { sql } from 'kysely';
import { conflict, invalid, notFound } from '../domain/errors';
import type { WorkflowStatus } from '../domain/statuses';
import type { BindPlan } from '../domain/bind-plan';
import type { CheckedTemplate } from '../domain/bind-checks';
import { insertWorkflow, updateWorkflow } from './bind-rows';
import type { Tx } from './db';

export interface BindResult {
  workflowId: number;
  status: WorkflowStatus;
  newlyCreated: boolean;
  numTasks: number;
}

export async function storeBind(trx: Tx, plan: BindPlan, user: string): Promise<BindResult> {
  const toolVersionId = await resolveToolVersion(trx, plan);
  const ttvIds = new Map<CheckedTemplate, number>();
  for (const t of plan.draft.templates) ttvIds.set(t, await getOrCreateTemplateVersion(trx, toolVersionId, t));

  // Two binds of the same workflow_args must not both decide "new workflow": serialise them.
  await sql`select pg_advisory_xact_lock(hashtextextended(${`bind:${toolVersionId}:${plan.workflowArgsHash}`}, 0))`.execute(
    trx,
  );
  const sameArgs = await trx
    .selectFrom('workflow')
    .select(['id', 'task_hash', 'dag_hash', 'status', 'num_tasks'])
    .where('tool_version_id', '=', toolVersionId)
    .where('workflow_args_hash', '=', plan.workflowArgsHash)
    .execute();
  const same = sameArgs.find((w) => w.task_hash === plan.taskHash && w.dag_hash === plan.dagHash);
  if (same) {
    await updateWorkflow(trx, plan, same.id, ttvIds);
    return { workflowId: same.id, status: same.status, newlyCreated: false, numTasks: same.num_tasks };
  }
  if (sameArgs.length > 0) {
    throw conflict(
      `workflow ${sameArgs[0].id} of this tool version already uses workflow_args "${plan.draft.workflow.workflowArgs}" with different tasks or dependencies; ` +
        'resume it by binding exactly the same tasks, or choose new workflow_args',
      'workflow_args_reused',
    );
  }
  const workflowId = await insertWorkflow(trx, plan, user, toolVersionId, ttvIds);
  return { workflowId, status: 'Q', newlyCreated: true, numTasks: plan.numTasks };
}

/** The spec's tool version if it names one, else the tool's latest, creating tool and version 1 as needed. */
async function resolveToolVersion(trx: Tx, plan: BindPlan): Promise<number> {
  const name = plan.draft.toolName;
  await trx
    .insertInto('tool')
    .values({ name })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const tool = await trx.selectFrom('tool').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  if (plan.draft.toolVersionId !== undefined) {
    const v = await trx
      .selectFrom('tool_version')
      .select('id')
      .where('id', '=', plan.draft.toolVersionId)
      .where('tool_id', '=', tool.id)
      .executeTakeFirst();
    if (!v)
      throw invalid(
        'tool.version_id',
        `tool "${name}" has no version ${plan.draft.toolVersionId}`,
        'unknown_tool_version',
      );
    return v.id;
  }
  const latest = () =>
    trx
      .selectFrom('tool_version')
      .select('id')
      .where('tool_id', '=', tool.id)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  const found = await latest();
  if (found) return found.id;
  // Lock the tool so two first binds of a new tool create one version 1, not two.
  await trx.selectFrom('tool').select('id').where('id', '=', tool.id).forUpdate().execute();
  const again = await latest();
  if (again) return again.id;
  const created = await trx
    .insertInto('tool_version')
    .values({ tool_id: tool.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  return created.id;
}

async function getOrCreateTemplateVersion(trx: Tx, toolVersionId: number, t: CheckedTemplate): Promise<number> {
  await trx
    .insertInto('task_template')
    .values({ tool_version_id: toolVersionId, name: t.name })
    .onConflict((oc) => oc.columns(['tool_version_id', 'name']).doNothing())
    .execute();
  const template = await trx
    .selectFrom('task_template')
    .select('id')
    .where('tool_version_id', '=', toolVersionId)
    .where('name', '=', t.name)
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('task_template_version')
    .values({
      task_template_id: template.id,
      command_template: t.args.command.source,
      node_args: t.args.nodeArgs,
      task_args: t.args.taskArgs,
      op_args: t.args.opArgs,
      arg_mapping_hash: t.argMappingHash,
    })
    .onConflict((oc) => oc.columns(['task_template_id', 'arg_mapping_hash']).doNothing())
    .execute();
  const version = await trx
    .selectFrom('task_template_version')
    .select('id')
    .where('task_template_id', '=', template.id)
    .where('arg_mapping_hash', '=', t.argMappingHash)
    .executeTakeFirstOrThrow();
  return version.id;
}

/** Remove the draft as the last step of a successful commit; a second commit of it finds nothing. */
export async function consumeDraft(trx: Tx, draftId: string, user: string): Promise<void> {
  const deleted = await trx
    .deleteFrom('bind_draft')
    .where('id', '=', draftId)
    .where('user', '=', user)
    .executeTakeFirst();
  if (Number(deleted.numDeletedRows) === 0) throw notFound('bind draft', draftId);
}
