/**
 * Binding: from a user's JSON spec to stored rows, in three steps so that large DAGs can arrive in
 * several requests (docs/api-contract.md, "Binding"):
 *   createDraft → addDraftTasks (≤ 5,000 tasks per call, repeatable) → commitDraft.
 * The bind streams (issue 18): each chunk is checked task by task and stored as rows of the draft
 * as it arrives, so the API holds one chunk at a time; commit checks what spans chunks over the
 * stored rows (bind-dag.ts) and writes the workflow from them set-based (bind-rows.ts), in one
 * transaction, as any role that owns the tables (no superuser). Nothing of the workflow exists
 * until commit; the draft is deleted by commit whether it succeeds or fails, so a refused or
 * abandoned bind leaves no half-bound workflow (stale drafts are collected by bind-store's deleteExpiredDrafts).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { invalid, JobmonError, notFound } from '../domain/errors';
import { MAX_TASKS_PER_CHUNK, type BindRequest, type DraftSpec, type TaskSpec } from '../domain/bind-spec';
import { checkDraftSpec } from '../domain/bind-checks';
import { planChunk, type BindPlan } from '../domain/bind-plan';
import { workflowArgsHash } from '../domain/identity';
import { isPlainObject } from '../domain/spec-values';
import { loadClusterCatalog } from './cluster-catalog';
import { transactionWithClient } from './db';
import type { Role } from '../domain/access';
import { beginCommit, consumeDraft, countChunk, ownDraft, storeBind, type BindResult } from './bind-store';
import { stageChunk } from './bind-rows';
import {
  analyzeStaged,
  checkStagedDag,
  checkStagedIdentity,
  firstTaskCluster,
  stagedChunks,
  stagedResources,
} from './bind-dag';
import { finishBind, type BindAnswerExtras } from './bind-answer';
import type { Database } from './schema';

export type { BindResult } from './bind-store';
/** A bind's answer: the workflow and, for the control script, its tasks' ids and ignored keys. */
export type BindAnswer = BindResult & BindAnswerExtras;

type Db = Kysely<Database>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkUser(user: string): void {
  if (typeof user !== 'string' || user.trim() === '')
    throw invalid('user', 'a user name is required to bind', 'required');
}

/** Validate the tool/workflow/templates part and store it as a draft; returns the draft id. */
export async function createDraft(db: Db, user: string, spec: DraftSpec): Promise<string> {
  checkUser(user);
  const stored = withWorkflowArgs(spec);
  const catalog = await loadClusterCatalog(db);
  const draft = checkDraftSpec(stored, catalog);
  if (draft.toolVersionId !== undefined) {
    // Checked again at commit (inside its transaction); checked here too so the error comes first.
    const found = await db
      .selectFrom('tool_version')
      .innerJoin('tool', 'tool.id', 'tool_version.tool_id')
      .select('tool_version.id')
      .where('tool_version.id', '=', draft.toolVersionId)
      .where('tool.name', '=', draft.toolName)
      .executeTakeFirst();
    if (!found)
      throw invalid(
        'tool.version_id',
        `tool "${draft.toolName}" has no version ${draft.toolVersionId}`,
        'unknown_tool_version',
      );
  }
  const id = randomUUID();
  await db
    .insertInto('bind_draft')
    .values({ id, user, spec: JSON.stringify(stored) })
    .execute();
  return id;
}

/**
 * Jobmon gives a workflow without workflow_args a random UUID (so it can only be resumed by id).
 * Fixed at draft creation so the stored spec is what commit binds.
 */
function withWorkflowArgs(spec: DraftSpec): DraftSpec {
  if (!isPlainObject(spec) || !isPlainObject(spec.workflow)) return spec;
  const args = spec.workflow.workflow_args;
  if (args !== undefined && args !== null) return spec;
  return { ...spec, workflow: { ...spec.workflow, workflow_args: randomUUID() } };
}

/**
 * Append up to 5,000 tasks to a draft. Each task is checked on its own here (shape, args against
 * its template, name, resources against the queue), with its index in the whole request, and
 * against the chunk's other tasks (keys, node args), so that mistakes are reported while the
 * client is still sending; a refused chunk is not stored and the draft stays usable. A key or
 * node args repeating another chunk's is refused at commit (bind-dag.ts, checkStagedIdentity).
 */
export async function addDraftTasks(
  db: Db,
  draftId: string,
  user: string,
  tasks: TaskSpec[],
  offset?: number,
): Promise<{ received: number; total: number }> {
  if (offset === undefined) return appendTasks(db, draftId, user, tasks);
  return placeTasks(db, draftId, user, tasks, offset);
}

/**
 * A chunk that says where it goes (`offset` = index of its first task in the whole request), so a
 * client may send several at once: its tasks are checked with their final indexes before any lock
 * is taken, and the only serialised step is the counter update. Commit refuses a draft whose
 * chunks leave a gap or overlap, so a misplaced chunk cannot bind a different DAG.
 */
async function placeTasks(
  db: Db,
  draftId: string,
  user: string,
  tasks: TaskSpec[],
  offset: number,
): Promise<{ received: number; total: number }> {
  checkUser(user);
  if (!Array.isArray(tasks)) throw invalid('tasks', 'tasks must be a list');
  checkChunkSize(tasks);
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalid('offset', 'offset must be a whole number ≥ 0');
  const row = await ownDraft(db, draftId, user);
  const catalog = await loadClusterCatalog(db);
  const chunk = planChunk(checkDraftSpec(row.spec, catalog), tasks, offset, catalog);
  if (tasks.length === 0) {
    const { num_tasks } = await db
      .selectFrom('bind_draft')
      .select('num_tasks')
      .where('id', '=', draftId)
      .executeTakeFirstOrThrow();
    return { received: 0, total: num_tasks };
  }
  return transactionWithClient(db, async (trx, client) => {
    await stageChunk(trx, client, draftId, chunk, offset);
    return { received: tasks.length, total: await countChunk(trx, draftId, tasks.length) };
  });
}

function checkChunkSize(tasks: TaskSpec[]): void {
  if (tasks.length > MAX_TASKS_PER_CHUNK) {
    throw new JobmonError(
      'too_large',
      `at most ${MAX_TASKS_PER_CHUNK} tasks per request, got ${tasks.length}; send them in several`,
      'tasks',
      'too_large',
    );
  }
}

async function appendTasks(
  db: Db,
  draftId: string,
  user: string,
  tasks: TaskSpec[],
): Promise<{ received: number; total: number }> {
  checkUser(user);
  if (!Array.isArray(tasks)) throw invalid('tasks', 'tasks must be a list');
  checkChunkSize(tasks);
  if (!UUID.test(draftId)) throw notFound('bind draft', draftId);
  const catalog = await loadClusterCatalog(db);
  return transactionWithClient(db, async (trx, client) => {
    // Row lock: concurrent calls append one after the other, so indexes in errors are exact.
    const row = await ownDraft(trx, draftId, user, { forUpdate: true });
    const offset = row.num_tasks;
    const chunk = planChunk(checkDraftSpec(row.spec, catalog), tasks, offset, catalog);
    if (tasks.length > 0) {
      // seq = index of the chunk's first task: unique, ordered, and the offset commit needs.
      await stageChunk(trx, client, draftId, chunk, offset);
      await trx
        .updateTable('bind_draft')
        .set({ num_tasks: offset + tasks.length })
        .where('id', '=', draftId)
        .execute();
    }
    return { received: tasks.length, total: offset + tasks.length };
  });
}

/**
 * Check what spans the draft's chunks over its stored rows, then bind it in one transaction; the
 * draft is gone afterwards either way. The API process holds no task here, whatever the size.
 */
export async function commitDraft(
  db: Db,
  draftId: string,
  user: string,
  role: Role = 'operator',
  options: { taskIds?: boolean } = {},
): Promise<BindAnswer> {
  checkUser(user);
  // Outside the try: a draft another commit is binding must not be deleted by this refusal.
  const row = await beginCommit(db, draftId, user);
  try {
    const { numTasks, templates } = await stagedChunks(db, draftId);
    await analyzeStaged(db);
    const catalog = await loadClusterCatalog(db);
    const draft = checkDraftSpec(row.spec, catalog);
    await checkStagedIdentity(db, draftId);
    const hashes = await checkStagedDag(db, draftId, numTasks);
    const plan: BindPlan = {
      draft,
      draftId,
      numTasks,
      workflowArgsHash: workflowArgsHash(draft.workflow.workflowArgs),
      ...hashes,
      usedTemplates: draft.templates.filter((t) => templates.has(t.name)),
      resources: await stagedResources(db, draftId),
      defaultClusterName: draft.workflow.clusterName ?? (await firstTaskCluster(db, draftId)),
    };
    return await db.transaction().execute(async (trx) => {
      const result = await storeBind(trx, plan, { user, role });
      const extras = await finishBind(trx, plan, result.workflowId, options.taskIds ?? true);
      await consumeDraft(trx, draftId, user);
      // Not a spread: that would read (parse) the lazy taskIds.
      return Object.assign(extras, result);
    });
  } catch (err) {
    await deleteDraft(db, draftId, user);
    throw err;
  }
}

/** createDraft + addDraftTasks in chunks + commitDraft, for callers holding the whole request. */
export async function bindAll(
  db: Db,
  user: string,
  request: BindRequest,
  role: Role = 'operator',
): Promise<BindAnswer> {
  checkUser(user);
  if (!isPlainObject(request))
    throw invalid('', 'the bind request must be an object with tool, workflow, task_templates and tasks');
  const { tasks, ...draftSpec } = request;
  if (!Array.isArray(tasks)) throw invalid('tasks', 'tasks must be a list', 'required');
  const draftId = await createDraft(db, user, draftSpec);
  try {
    for (let start = 0; start < tasks.length; start += MAX_TASKS_PER_CHUNK) {
      await appendTasks(db, draftId, user, tasks.slice(start, start + MAX_TASKS_PER_CHUNK));
    }
  } catch (err) {
    await deleteDraft(db, draftId, user);
    throw err;
  }
  return commitDraft(db, draftId, user, role);
}

async function deleteDraft(db: Db, draftId: string, user: string): Promise<void> {
  await db.deleteFrom('bind_draft').where('id', '=', draftId).where('user', '=', user).execute();
}
