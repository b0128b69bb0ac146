/**
 * The bulk row writes of a streamed bind (issue 18), no superuser needed:
 *
 * - `stageChunk`: a chunk's checked tasks into `bind_draft_task` (one `COPY ... FROM STDIN` per
 *   chunk, sql/copy-in.ts), its resource requests into `bind_draft_resource`; a chunk overlapping
 *   tasks another chunk sent is refused (the chunks' ranges; the primary key behind them). The
 *   table has no other index to keep up to date: keys and node args repeated across chunks are
 *   refused at commit (bind-dag.ts).
 * - `insertWorkflow`: a new workflow's rows straight from the staged ones, set-based in Postgres
 *   (`insert into task ... select from bind_draft_task join ...`): no task crosses into the API
 *   process at commit, so its memory does not grow with the workflow.
 * - `updateWorkflow`: the same identity bound again (a resume): one `update ... from` over the
 *   staged rows for the fields Jobmon lets change (bind-store.ts decides which of the two).
 *
 * Every reference these statements write is joined from rows written in the same transaction (or
 * the draft's own rows), which is what stands in for the foreign keys migration 0018 removed.
 */
import { sql, type Transaction } from 'kysely';
import type pg from 'pg';
import type { BindPlan, ChunkPlan } from '../domain/bind-plan';
import type { CheckedTask } from '../domain/task-checks';
import type { CheckedTemplate } from '../domain/bind-checks';
import { conflict, invalid } from '../domain/errors';
import { copyField, copyIn, textArrayLiteral } from './copy-in';
import type { Database } from './schema';

type Trx = Transaction<Database>;

const STAGED_COLUMNS =
  'draft_id, idx, key, template, name, task_hash, node_args_hash, node_args, task_args, op_args, command, ' +
  'resources_hash, resource_scales, fallback_queues, max_attempts, attributes, upstream';

/** The chunk's tasks as COPY text rows, in STAGED_COLUMNS' order. */
function stagedRows(draftId: string, tasks: readonly CheckedTask[]): string {
  const draft = copyField(draftId);
  let out = '';
  for (const x of tasks) {
    const attributes = Object.keys(x.attributes).length > 0 ? JSON.stringify(x.attributes) : null;
    out +=
      `${draft}\t${x.index}\t${copyField(x.key)}\t${copyField(x.template.name)}\t${copyField(x.name)}\t` +
      `${x.taskHash}\t${x.nodeArgsHash}\t${copyField(JSON.stringify(x.nodeArgs))}\t` +
      `${copyField(JSON.stringify(x.taskArgs))}\t${copyField(JSON.stringify(x.opArgs))}\t${copyField(x.command)}\t` +
      `${x.resourcesHash}\t${copyField(JSON.stringify(x.resourceScales))}\t` +
      `${copyField(JSON.stringify(x.fallbackQueues))}\t${x.maxAttempts}\t${copyField(attributes)}\t` +
      `${copyField(textArrayLiteral(x.upstream))}\n`;
  }
  return out;
}

/**
 * Store one checked chunk: its tasks by COPY on `client`, the connection `trx` runs on (db.ts,
 * transactionWithClient). Throws (so the caller's transaction rolls back and nothing of the chunk
 * stays) when its offset was used or a task overlaps one already sent.
 */
export async function stageChunk(
  trx: Trx,
  client: pg.PoolClient,
  draftId: string,
  chunk: ChunkPlan,
  offset: number,
): Promise<void> {
  const stored = await trx
    .insertInto('bind_draft_chunk')
    .values({ draft_id: draftId, seq: offset, num_tasks: chunk.tasks.length, templates: chunk.templates })
    .onConflict((oc) => oc.columns(['draft_id', 'seq']).doNothing())
    .returning('seq')
    .executeTakeFirst();
  if (!stored) throw conflict(`a chunk at offset ${offset} was already sent to draft ${draftId}`, 'chunk_already_sent');
  // Overlap with a chunk already stored, found by the chunks' ranges rather than by the COPY
  // failing, so the answer can name the task.
  const end = offset + chunk.tasks.length;
  const other = await trx
    .selectFrom('bind_draft_chunk')
    .select('seq')
    .where('draft_id', '=', draftId)
    .where('seq', '<>', offset)
    .where('seq', '<', end)
    .where(sql<boolean>`seq + num_tasks > ${offset}::int`)
    .orderBy('seq')
    .executeTakeFirst();
  if (other) throw overlapError(offset, Math.max(offset, other.seq));
  try {
    await copyIn(client, `copy bind_draft_task (${STAGED_COLUMNS}) from stdin`, stagedRows(draftId, chunk.tasks));
  } catch (err) {
    // An overlapping chunk sent at the same time, committed after the range check above.
    if ((err as { constraint?: string }).constraint === 'bind_draft_task_pkey') throw overlapError(offset);
    throw err;
  }

  const res = [...chunk.resources.values()];
  await sql`
    insert into bind_draft_resource (draft_id, hash, cluster_name, queue, requested)
    select ${draftId}::uuid, u.hash, u.cluster_name, u.queue, u.requested::jsonb
    from unnest(${res.map((r) => r.hash)}::text[], ${res.map((r) => r.clusterName)}::text[],
                ${res.map((r) => r.resources.queue)}::text[], ${res.map((r) => JSON.stringify(r.resources))}::text[])
      as u(hash, cluster_name, queue, requested)
    on conflict do nothing`.execute(trx);
}

/** The chunk overlaps tasks another chunk sent (`at`: the first of them, when known). */
function overlapError(offset: number, at?: number): Error {
  const which = at === undefined ? 'another chunk sent at the same time' : `task ${at} was sent in another chunk`;
  return invalid('offset', `the chunk at offset ${offset} overlaps tasks already sent (${which})`, 'chunk_gap');
}

/** The staged tasks' template names next to the arrays they go to, for joins. */
function arrayColumns(arrayIds: Map<CheckedTemplate, number>) {
  const entries = [...arrayIds.entries()];
  return { names: entries.map(([t]) => t.name), ids: entries.map(([, id]) => id) };
}

/** task_resources rows (type O) for every distinct request of the draft, shared by hash. */
async function storeResources(trx: Trx, draftId: string): Promise<void> {
  await sql`
    insert into task_resources (hash, cluster_name, queue, resources_type, requested_resources)
    select hash, cluster_name, queue, 'O', requested from bind_draft_resource where draft_id = ${draftId}::uuid
    on conflict (hash) do nothing`.execute(trx);
}

/**
 * `numTasks` consecutive task ids, so that task i of the request gets `first + i` and edges need no
 * lookup. Drawn in one statement; another bind drawing at the same instant can interleave with
 * it, which the span shows, and then the draw is simply repeated (the skipped ids stay unused).
 */
async function reserveTaskIds(trx: Trx, numTasks: number): Promise<number> {
  const { rows: seq } = await sql<{ seq: string }>`select pg_get_serial_sequence('task', 'id') as seq`.execute(trx);
  for (let attempt = 0; attempt < 8; attempt++) {
    const { rows } = await sql<{ lo: string; hi: string }>`
      select min(v)::text as lo, max(v)::text as hi
      from (select nextval(${seq[0].seq}::regclass) as v from generate_series(1, ${numTasks}::int)) s`.execute(trx);
    const lo = Number(rows[0].lo);
    if (Number(rows[0].hi) - lo === numTasks - 1) return lo;
  }
  throw new Error(`could not draw ${numTasks} consecutive task ids in 8 attempts`);
}

export async function insertWorkflow(
  trx: Trx,
  plan: BindPlan,
  user: string,
  toolVersionId: number,
  ttvIds: Map<CheckedTemplate, number>,
): Promise<number> {
  const wf = plan.draft.workflow;
  const { id: workflowId } = await trx
    .insertInto('workflow')
    .values({
      tool_version_id: toolVersionId,
      workflow_args: wf.workflowArgs,
      workflow_args_hash: plan.workflowArgsHash,
      task_hash: plan.taskHash,
      dag_hash: plan.dagHash,
      name: wf.name,
      description: wf.description,
      user,
      max_concurrently_running: wf.maxConcurrentlyRunning,
      default_cluster_name: plan.defaultClusterName,
      num_tasks: plan.numTasks,
      status: 'Q',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await upsertWorkflowAttributes(trx, workflowId, wf.attributes);

  const arrayIds = new Map<CheckedTemplate, number>();
  for (const t of plan.usedTemplates) {
    const row = await trx
      .insertInto('array_')
      .values({
        workflow_id: workflowId,
        task_template_version_id: ttvIds.get(t)!,
        name: t.name,
        max_concurrently_running: t.maxConcurrentlyRunning,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    arrayIds.set(t, row.id);
  }
  await storeResources(trx, plan.draftId);
  const first = await reserveTaskIds(trx, plan.numTasks);
  const a = arrayColumns(arrayIds);
  const draft = plan.draftId;
  // In request order, so the primary key grows at its right edge; the kept counts (migration
  // 0019) from the same statement's rows.
  await sql`
    with ins as (
    insert into task (id, workflow_id, array_id, name, task_hash, node_args_hash, node_args, task_args, op_args, command,
                      original_resources_id, task_resources_id, resource_scales, fallback_queues, max_attempts,
                      upstream_count, upstream_remaining, status, key)
    select ${first}::bigint + s.idx, ${workflowId}::int, a.array_id, s.name, s.task_hash, s.node_args_hash, s.node_args,
           s.task_args, s.op_args, s.command, r.id, r.id, s.resource_scales, s.fallback_queues, s.max_attempts,
           cardinality(s.upstream), cardinality(s.upstream), 'G', s.key
    from bind_draft_task s
    join unnest(${a.names}::text[], ${a.ids}::int[]) as a(template, array_id) on a.template = s.template
    join task_resources r on r.hash = s.resources_hash
    where s.draft_id = ${draft}::uuid
    order by s.idx
    returning array_id, upstream_count)
    insert into task_status_count (workflow_id, array_id, status, ready, n)
    select ${workflowId}::int, array_id, 'G', upstream_count = 0, count(*) from ins group by 2, 4`.execute(trx);
  await sql`
    insert into task_dependency (upstream_task_id, downstream_task_id)
    select ${first}::bigint + u.idx, ${first}::bigint + s.idx
    from bind_draft_task s
    cross join lateral unnest(s.upstream) as k(key)
    join bind_draft_task u on u.draft_id = s.draft_id and u.key = k.key
    where s.draft_id = ${draft}::uuid`.execute(trx);
  await sql`
    insert into task_attribute (task_id, key, value)
    select ${first}::bigint + s.idx, a.key, a.value
    from bind_draft_task s cross join lateral jsonb_each_text(s.attributes) as a(key, value)
    where s.draft_id = ${draft}::uuid and s.attributes is not null`.execute(trx);
  return workflowId;
}

/**
 * Same identity: update what Jobmon lets change between runs (names, op_args and hence commands,
 * resources, scales, fallback queues, max_attempts, limits, attributes). Task status is untouched:
 * DONE tasks stay DONE, so a resume does not re-run them.
 */
export async function updateWorkflow(
  trx: Trx,
  plan: BindPlan,
  workflowId: number,
  ttvIds: Map<CheckedTemplate, number>,
): Promise<void> {
  const wf = plan.draft.workflow;
  await trx
    .updateTable('workflow')
    .set({
      name: wf.name,
      description: wf.description,
      max_concurrently_running: wf.maxConcurrentlyRunning,
      default_cluster_name: plan.defaultClusterName,
    })
    .where('id', '=', workflowId)
    .execute();
  await upsertWorkflowAttributes(trx, workflowId, wf.attributes);

  // Arrays are per template; a changed command template (new version) moves the array to it.
  const arrays = await trx
    .selectFrom('array_')
    .innerJoin('task_template_version as ttv', 'ttv.id', 'array_.task_template_version_id')
    .innerJoin('task_template as tt', 'tt.id', 'ttv.task_template_id')
    .select(['array_.id', 'tt.name'])
    .where('array_.workflow_id', '=', workflowId)
    .execute();
  const arrayIds = new Map<CheckedTemplate, number>();
  for (const t of plan.usedTemplates) {
    const row = arrays.find((x) => x.name === t.name);
    if (!row)
      throw new Error(`workflow ${workflowId} has no array for template "${t.name}" although its task hash matches`);
    arrayIds.set(t, row.id);
    await trx
      .updateTable('array_')
      .set({ task_template_version_id: ttvIds.get(t)!, max_concurrently_running: t.maxConcurrentlyRunning })
      .where('id', '=', row.id)
      .execute();
  }

  await storeResources(trx, plan.draftId);
  const a = arrayColumns(arrayIds);
  const draft = plan.draftId;
  // A task whose request did not change keeps its current resources (they may have been scaled
  // after a resource error); a changed request replaces both the original and the current one.
  await sql`
    update task t set
      array_id = a.array_id, name = s.name, op_args = s.op_args, command = s.command,
      task_resources_id = case when t.original_resources_id = r.id then t.task_resources_id else r.id end,
      original_resources_id = r.id,
      resource_scales = s.resource_scales, fallback_queues = s.fallback_queues, max_attempts = s.max_attempts, key = s.key
    from bind_draft_task s
    join unnest(${a.names}::text[], ${a.ids}::int[]) as a(template, array_id) on a.template = s.template
    join task_resources r on r.hash = s.resources_hash
    where s.draft_id = ${draft}::uuid and t.workflow_id = ${workflowId}::int and t.task_hash = s.task_hash
      -- Rebinding an unchanged workflow (the usual resume) then rewrites no row at all.
      and (t.array_id, t.name, t.op_args, t.command, t.original_resources_id, t.resource_scales, t.fallback_queues, t.max_attempts, t.key)
          is distinct from (a.array_id, s.name, s.op_args, s.command, r.id, s.resource_scales, s.fallback_queues, s.max_attempts, s.key)`.execute(
    trx,
  );
  // Attributes given again overwrite their values; others (e.g. added later by an operator) stay.
  await sql`
    insert into task_attribute (task_id, key, value)
    select t.id, a.key, a.value
    from bind_draft_task s
    join task t on t.workflow_id = ${workflowId}::int and t.task_hash = s.task_hash
    cross join lateral jsonb_each_text(s.attributes) as a(key, value)
    where s.draft_id = ${draft}::uuid and s.attributes is not null
    on conflict (task_id, key) do update set value = excluded.value
      where task_attribute.value is distinct from excluded.value`.execute(trx);
}

/** Attributes given again overwrite their values; others (e.g. added later by an operator) stay. */
async function upsertWorkflowAttributes(trx: Trx, workflowId: number, attrs: Record<string, string>): Promise<void> {
  const entries = Object.entries(attrs);
  if (entries.length === 0) return;
  await trx
    .insertInto('workflow_attribute')
    .values(entries.map(([key, value]) => ({ workflow_id: workflowId, key, value })))
    .onConflict((oc) => oc.columns(['workflow_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
    .execute();
}
