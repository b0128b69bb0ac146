/**
 * Writing a checked BindPlan, inside the caller's transaction: tool, tool version and templates
 * (get-or-create), then either a new workflow with all its rows, or, when the workflow already
 * exists (same identity: a resume), an update of its mutable fields (rows in bind-rows.ts) — only
 * if the caller may act on that workflow (owner, grantee or admin; else 403 `not_owner`).
 *
 * Also the life of a draft (migration 0012): owned by its creator; a commit marks it
 * `committing_since` first, and every chunk write re-checks that mark under the draft's row lock,
 * so a chunk is either in the commit or refused (409 `draft_committing`), never acknowledged and
 * then dropped; drafts not committed within the configured time are deleted by the API.
 */
import { sql } from 'kysely';
import { accessRefusal, type Actor } from '../domain/access';
import { conflict, invalid, notFound } from '../domain/errors';
import type { WorkflowStatus } from '../domain/statuses';
import type { BindPlan } from '../domain/bind-plan';
import type { CheckedTemplate } from '../domain/bind-checks';
import { workflowAccess } from './access';
import { insertWorkflow, updateWorkflow } from './bind-rows';
import type { Db, Tx } from './db';

export interface BindResult {
  workflowId: number;
  status: WorkflowStatus;
  newlyCreated: boolean;
  numTasks: number;
}

export async function storeBind(trx: Tx, plan: BindPlan, actor: Actor): Promise<BindResult> {
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
    // A re-bind rewrites commands, args and resources of the existing tasks: it is a write to that
    // workflow like any control, and another operator's jobs would run as its owner.
    const access = await workflowAccess(trx, same.id, actor.user);
    const refusal = access && accessRefusal(actor, same.id, access, { what: 're-bind refused' });
    if (refusal) throw refusal;
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
  const workflowId = await insertWorkflow(trx, plan, actor.user, toolVersionId, ttvIds);
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const draftCommitting = (draftId: string, since: Date) =>
  conflict(
    `draft ${draftId} is being committed (since ${since.toISOString()}); no more tasks may be added to it`,
    'draft_committing',
  );

/**
 * The caller's draft (404 for any id that names no draft of theirs, malformed ids included), 409
 * `draft_committing` once its commit began. `forUpdate` inside a transaction holds the row lock
 * that orders chunk appends against each other and against the commit.
 */
export async function ownDraft(
  db: Pick<Db, 'selectFrom'>,
  draftId: string,
  user: string,
  options: { forUpdate?: boolean } = {},
): Promise<{ spec: unknown; num_tasks: number }> {
  if (!UUID.test(draftId)) throw notFound('bind draft', draftId);
  let query = db
    .selectFrom('bind_draft')
    .select(['spec', 'num_tasks', 'committing_since'])
    .where('id', '=', draftId)
    .where('user', '=', user);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('bind draft', draftId);
  if (row.committing_since) throw draftCommitting(draftId, new Date(row.committing_since));
  return row;
}

/**
 * Count a stored chunk's tasks into its draft, in the chunk's transaction. The update waits for a
 * commit that marked the draft meanwhile and then finds the mark: the chunk is refused and rolled
 * back with its transaction, so the commit never loses a chunk it did not read.
 */
export async function countChunk(trx: Tx, draftId: string, added: number): Promise<number> {
  const updated = await trx
    .updateTable('bind_draft')
    .set((eb) => ({ num_tasks: eb('num_tasks', '+', added) }))
    .where('id', '=', draftId)
    .where('committing_since', 'is', null)
    .returning('num_tasks')
    .executeTakeFirst();
  if (updated) return updated.num_tasks;
  const row = await trx
    .selectFrom('bind_draft')
    .select('committing_since')
    .where('id', '=', draftId)
    .executeTakeFirst();
  if (row?.committing_since) throw draftCommitting(draftId, new Date(row.committing_since));
  throw notFound('bind draft', draftId);
}

/**
 * Mark the caller's draft as being committed, atomically: of two commits one wins, the other gets
 * 409 `draft_committing`; chunks sent after this are refused. Returns the draft's spec.
 */
export async function beginCommit(db: Db, draftId: string, user: string): Promise<{ spec: unknown }> {
  if (!UUID.test(draftId)) throw notFound('bind draft', draftId);
  const marked = await db
    .updateTable('bind_draft')
    .set({ committing_since: sql<Date>`now()` })
    .where('id', '=', draftId)
    .where('user', '=', user)
    .where('committing_since', 'is', null)
    .returning('spec')
    .executeTakeFirst();
  if (marked) return marked;
  await ownDraft(db, draftId, user); // throws 404 or 409 draft_committing
  throw notFound('bind draft', draftId); // deleted between the two statements
}

/** DELETE by its owner: 404 for anybody else's, 409 while its commit runs. */
export async function deleteOwnDraft(db: Db, draftId: string, user: string): Promise<{ num_tasks: number }> {
  if (!UUID.test(draftId)) throw notFound('bind draft', draftId);
  const deleted = await db
    .deleteFrom('bind_draft')
    .where('id', '=', draftId)
    .where('user', '=', user)
    .where('committing_since', 'is', null)
    .returning('num_tasks')
    .executeTakeFirst();
  if (deleted) return deleted;
  await ownDraft(db, draftId, user);
  throw notFound('bind draft', draftId);
}

/** Drafts deleted per statement by the expiry sweep: bounds its lock time and its transaction. */
export const DRAFT_SWEEP_BATCH = 100;

/**
 * Delete drafts older than `olderThanS` seconds (a commit counts from when it began, so a commit
 * in progress is never swept from under itself unless it is itself that old: its process died).
 * At most `maxBatches` × DRAFT_SWEEP_BATCH per call; returns how many went.
 */
export async function deleteExpiredDrafts(db: Db, olderThanS: number, maxBatches = 10): Promise<number> {
  let total = 0;
  for (let b = 0; b < maxBatches; b++) {
    const result = await db
      .deleteFrom('bind_draft')
      .where(
        'id',
        'in',
        db
          .selectFrom('bind_draft')
          .select('id')
          .where(
            sql<boolean>`coalesce(committing_since, created_date) < now() - ${olderThanS}::double precision * interval '1 second'`,
          )
          .limit(DRAFT_SWEEP_BATCH),
      )
      .executeTakeFirst();
    const n = Number(result.numDeletedRows);
    total += n;
    if (n < DRAFT_SWEEP_BATCH) break;
  }
  return total;
}
