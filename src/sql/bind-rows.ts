/**
 * The bulk row writes of a bind: a new workflow's arrays, resources, tasks, edges and attributes,
 * or the in-place update of an existing workflow's mutable fields (bind-store.ts decides which).
 *
 * Large row sets go through `insert ... select from unnest($1::type[], ...)`: one statement and one
 * round trip per 5,000 rows instead of one per row, which is what lets 100,000 tasks and their
 * edges bind in seconds (toolchain.md: ~170 ms for 100,000 task rows this way).
 */
import { sql } from 'kysely';
import type { BindPlan } from '../domain/bind-plan';
import type { CheckedTemplate } from '../domain/bind-checks';
import type { Tx } from './db';

/** Rows per bulk statement: large enough to amortise round trips, small enough for memory. */
export const BIND_CHUNK_ROWS = 5_000;

async function inChunks(count: number, fn: (start: number, end: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += BIND_CHUNK_ROWS) {
    await fn(start, Math.min(count, start + BIND_CHUNK_ROWS));
  }
}

/** task_resources rows (type O) for every distinct request, shared across workflows by hash. */
async function resourceIds(trx: Tx, plan: BindPlan): Promise<Map<string, number>> {
  const requests = [...plan.resources.values()];
  const ids = new Map<string, number>();
  await inChunks(requests.length, async (start, end) => {
    const part = requests.slice(start, end);
    const hashes = part.map((r) => r.hash);
    await sql`
      insert into task_resources (hash, cluster_name, queue, resources_type, requested_resources)
      select u.hash, u.cluster_name, u.queue, 'O', u.requested::jsonb
      from unnest(${hashes}::text[], ${part.map((r) => r.clusterName)}::text[], ${part.map((r) => r.resources.queue)}::text[],
                  ${part.map((r) => JSON.stringify(r.resources))}::text[]) as u(hash, cluster_name, queue, requested)
      on conflict (hash) do nothing`.execute(trx);
    const rows = await trx.selectFrom('task_resources').select(['id', 'hash']).where('hash', 'in', hashes).execute();
    for (const r of rows) ids.set(r.hash, Number(r.id));
  });
  return ids;
}

/** Per-task columns shared by insert and update, in task order. */
function taskColumns(
  plan: BindPlan,
  resIds: Map<string, number>,
  arrayIds: Map<CheckedTemplate, number>,
  start: number,
  end: number,
) {
  const part = plan.tasks.slice(start, end);
  return {
    arrayId: part.map((t) => arrayIds.get(t.template)!),
    name: part.map((t) => t.name),
    taskHash: part.map((t) => t.taskHash),
    opArgs: part.map((t) => JSON.stringify(t.opArgs)),
    command: part.map((t) => t.command),
    resourcesId: part.map((t) => resIds.get(t.resourcesHash)!),
    scales: part.map((t) => JSON.stringify(t.resourceScales)),
    fallback: part.map((t) => JSON.stringify(t.fallbackQueues)),
    maxAttempts: part.map((t) => t.maxAttempts),
    key: part.map((t) => t.key),
  };
}

export async function insertWorkflow(
  trx: Tx,
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
      num_tasks: plan.tasks.length,
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
  const resIds = await resourceIds(trx, plan);

  // Ids drawn up front (ascending, given in topological order) so edges need no lookup afterwards.
  const n = plan.tasks.length;
  // The sequence is looked up once and passed as a regclass parameter: calling
  // pg_get_serial_sequence per row made this step ten times slower.
  const { rows: seqRows } = await sql<{ seq: string }>`select pg_get_serial_sequence('task', 'id') as seq`.execute(trx);
  const { rows: idRows } = await sql<{ id: number }>`
    select nextval(${seqRows[0].seq}::regclass) as id from generate_series(1, ${n}::int)`.execute(trx);
  const sortedIds = idRows.map((r) => Number(r.id)).sort((a, b) => a - b);
  const taskIds = new Array<number>(n);
  plan.dag.order.forEach((taskIndex, position) => {
    taskIds[taskIndex] = sortedIds[position];
  });

  const { upOffsets } = plan.dag;
  const skippingChecks = await skipReferenceChecks(trx);
  await inChunks(n, async (start, end) => {
    const c = taskColumns(plan, resIds, arrayIds, start, end);
    const part = plan.tasks.slice(start, end);
    const upstreamCounts = part.map((t) => upOffsets[t.index + 1] - upOffsets[t.index]);
    await sql`
      insert into task (id, workflow_id, array_id, name, task_hash, node_args_hash, node_args, task_args, op_args, command,
                        original_resources_id, task_resources_id, resource_scales, fallback_queues, max_attempts,
                        upstream_count, upstream_remaining, status, key)
      select u.id, ${workflowId}::int, u.array_id, u.name, u.task_hash, u.node_args_hash, u.node_args::jsonb, u.task_args::jsonb,
             u.op_args::jsonb, u.command, u.resources_id, u.resources_id, u.scales::jsonb, u.fallback::jsonb, u.max_attempts,
             u.upstream_count, u.upstream_count, 'G', u.key
      from unnest(${taskIds.slice(start, end)}::bigint[], ${c.arrayId}::int[], ${c.name}::text[], ${c.taskHash}::text[],
                  ${part.map((t) => t.nodeArgsHash)}::text[], ${part.map((t) => JSON.stringify(t.nodeArgs))}::text[],
                  ${part.map((t) => JSON.stringify(t.taskArgs))}::text[], ${c.opArgs}::text[], ${c.command}::text[],
                  ${c.resourcesId}::bigint[], ${c.scales}::text[], ${c.fallback}::text[], ${c.maxAttempts}::int[],
                  ${upstreamCounts}::int[], ${c.key}::text[])
        as u(id, array_id, name, task_hash, node_args_hash, node_args, task_args, op_args, command, resources_id, scales,
             fallback, max_attempts, upstream_count, key)`.execute(trx);
  });

  const ups: number[] = new Array(plan.dag.numEdges);
  const downs: number[] = new Array(plan.dag.numEdges);
  for (let i = 0; i < n; i++) {
    for (let k = upOffsets[i]; k < upOffsets[i + 1]; k++) {
      ups[k] = taskIds[plan.dag.upTargets[k]];
      downs[k] = taskIds[i];
    }
  }
  await inChunks(ups.length, async (start, end) => {
    await sql`
      insert into task_dependency (upstream_task_id, downstream_task_id)
      select * from unnest(${ups.slice(start, end)}::bigint[], ${downs.slice(start, end)}::bigint[])`.execute(trx);
  });

  await upsertTaskAttributes(trx, plan, (t) => taskIds[t]);
  if (skippingChecks) await sql`set local session_replication_role = origin`.execute(trx);
  return workflowId;
}

/**
 * Postgres checks every foreign key of every inserted row with a row-level trigger: four per task
 * row and two per edge row, ≈ 780,000 lookups and more than half the database time of a
 * 100,000-task bind (docs/benchmarks.md). The rows written here reference only rows this transaction has just
 * created (the workflow, its arrays, the task ids it drew) or task_resources rows, which nothing
 * deletes; so, when the role may (a superuser, as in the local and compose set-ups), the task,
 * edge and attribute inserts run with triggers off for this transaction only (`set local`, reset
 * right after; unique and check constraints are indexes and checks, not triggers, and still hold).
 * Without the privilege the checks simply run.
 */
async function skipReferenceChecks(trx: Tx): Promise<boolean> {
  const { rows } = await sql<{ su: boolean }>`select current_setting('is_superuser') = 'on' as su`.execute(trx);
  if (!rows[0].su) return false;
  await sql`set local session_replication_role = replica`.execute(trx);
  return true;
}

/**
 * Same identity: update what Jobmon lets change between runs (names, op_args and hence commands,
 * resources, scales, fallback queues, max_attempts, limits, attributes). Task status is untouched:
 * DONE tasks stay DONE, so a resume does not re-run them.
 */
export async function updateWorkflow(
  trx: Tx,
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
    const row = arrays.find((a) => a.name === t.name);
    if (!row)
      throw new Error(`workflow ${workflowId} has no array for template "${t.name}" although its task hash matches`);
    arrayIds.set(t, row.id);
    await trx
      .updateTable('array_')
      .set({ task_template_version_id: ttvIds.get(t)!, max_concurrently_running: t.maxConcurrentlyRunning })
      .where('id', '=', row.id)
      .execute();
  }

  const resIds = await resourceIds(trx, plan);
  await inChunks(plan.tasks.length, async (start, end) => {
    const c = taskColumns(plan, resIds, arrayIds, start, end);
    // A task whose request did not change keeps its current resources (they may have been scaled
    // after a resource error); a changed request replaces both the original and the current one.
    await sql`
      update task t set
        array_id = u.array_id, name = u.name, op_args = u.op_args::jsonb, command = u.command,
        task_resources_id = case when t.original_resources_id = u.resources_id then t.task_resources_id else u.resources_id end,
        original_resources_id = u.resources_id,
        resource_scales = u.scales::jsonb, fallback_queues = u.fallback::jsonb, max_attempts = u.max_attempts, key = u.key
      from unnest(${c.taskHash}::text[], ${c.arrayId}::int[], ${c.name}::text[], ${c.opArgs}::text[], ${c.command}::text[],
                  ${c.resourcesId}::bigint[], ${c.scales}::text[], ${c.fallback}::text[], ${c.maxAttempts}::int[],
                  ${c.key}::text[])
        as u(task_hash, array_id, name, op_args, command, resources_id, scales, fallback, max_attempts, key)
      where t.workflow_id = ${workflowId}::int and t.task_hash = u.task_hash
        -- Rebinding an unchanged workflow (the usual resume) then rewrites no row at all.
        and (t.array_id, t.name, t.op_args, t.command, t.original_resources_id, t.resource_scales, t.fallback_queues, t.max_attempts, t.key)
            is distinct from (u.array_id, u.name, u.op_args::jsonb, u.command, u.resources_id, u.scales::jsonb, u.fallback::jsonb, u.max_attempts, u.key)`.execute(
      trx,
    );
  });

  if (plan.tasks.some((t) => Object.keys(t.attributes).length > 0)) {
    const { rows } = await sql<{
      id: number;
      task_hash: string;
    }>`select id, task_hash from task where workflow_id = ${workflowId}::int`.execute(trx);
    const idByHash = new Map(rows.map((r) => [r.task_hash, Number(r.id)]));
    await upsertTaskAttributes(trx, plan, (i) => idByHash.get(plan.tasks[i].taskHash)!);
  }
}

/** Attributes given again overwrite their values; others (e.g. added later by an operator) stay. */
async function upsertWorkflowAttributes(trx: Tx, workflowId: number, attrs: Record<string, string>): Promise<void> {
  const entries = Object.entries(attrs);
  if (entries.length === 0) return;
  await trx
    .insertInto('workflow_attribute')
    .values(entries.map(([key, value]) => ({ workflow_id: workflowId, key, value })))
    .onConflict((oc) => oc.columns(['workflow_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
    .execute();
}

async function upsertTaskAttributes(trx: Tx, plan: BindPlan, taskId: (index: number) => number): Promise<void> {
  const ids: number[] = [];
  const keys: string[] = [];
  const values: string[] = [];
  for (const t of plan.tasks) {
    for (const [key, value] of Object.entries(t.attributes)) {
      ids.push(taskId(t.index));
      keys.push(key);
      values.push(value);
    }
  }
  await inChunks(ids.length, async (start, end) => {
    await sql`
      insert into task_attribute (task_id, key, value)
      select * from unnest(${ids.slice(start, end)}::bigint[], ${keys.slice(start, end)}::text[], ${values.slice(start, end)}::text[])
      on conflict (task_id, key) do update set value = excluded.value where task_attribute.value is distinct from excluded.value`.execute(
      trx,
    );
  });
}
