/**
 * Commit's checks over a draft's stored rows (issue 18): the chunks tile the request, keys and
 * node args are unique, every upstream key names a task, there is no cycle, and the workflow's
 * identity hashes — all without loading the tasks into the API process.
 *
 * - Tiling, uniqueness and upstream keys are set-based SQL over `bind_draft_chunk` /
 *   `bind_draft_task`. Uniqueness is checked here once, by hash aggregates, rather than by unique
 *   indexes kept up to date as each chunk is staged (half of staging's cost: migration 0021).
 * - Cycles: an edge whose upstream comes later in the request than its downstream (or is the task
 *   itself) is the only kind that can close one. Clients send tasks upstream-first (Jobmon's model
 *   makes a task's upstreams exist before it), so usually SQL counts none and the request order
 *   is a topological order. Otherwise the edges stream in as pairs of integers (COPY) into typed
 *   arrays and domain/dag-order.ts runs Kahn's algorithm: linear, ~24 bytes per edge.
 * - Hashes: `workflowTaskHash`/`dagHash` are sha256 of sorted lines. Postgres sorts the task
 *   hashes (byte order, `collate "C"`, which is the UTF-16 order of these ASCII hex strings) and
 *   domain/dag-hash.ts ranks them as they stream in; the edges, read once for the checks above as
 *   pairs of task indexes, sort there as pairs of ranks. The bytes hashed are those a
 *   whole-request bind hashes, so the hashes are its hashes (same identity).
 */
import { sql, type Kysely } from 'kysely';
import { invalid } from '../domain/errors';
import { duplicateKey, duplicateNodeArgs, unknownUpstream, type ResourceRequest } from '../domain/bind-plan';
import type { Resources } from '../domain/resources';
import { findCycle } from '../domain/dag-order';
import { HASH_HEX_BYTES, IntList, SortedTaskHashes } from '../domain/dag-hash';
import { copyOut, indexedHexRows, intRows } from './copy-out';
import type { Db } from './db';
import type { Database } from './schema';

/** How many keys a cycle error names: enough to find it, short enough to read. */
const CYCLE_KEYS_SHOWN = 6;
/** Memory for commit's sorts and hash aggregates of a million rows (the default 4 MB spills them to disk). */
const SORT_SETTINGS = ["work_mem = '256MB'"];

/**
 * Statistics of the draft tables as they are now, before commit's joins over them. They swing from
 * empty to a million rows and back with every big bind; planned with the statistics of an empty
 * table (as an autovacuum between two binds leaves them), the upstream-key join became a nested
 * loop over every row and one commit took minutes. Only the columns commit's joins and filters
 * read: statistics of every column (the jsonb args, commands, hashes) cost 0.8 s of CPU at 100,000
 * tasks, these ~0.1 s.
 */
export async function analyzeStaged(db: Db): Promise<void> {
  await sql`analyze bind_draft_task (draft_id, idx, key, template, resources_hash, attributes)`.execute(db);
}

/** The draft's size and templates, refusing chunks that leave a gap (`chunk_gap`) or none at all. */
export async function stagedChunks(
  db: Kysely<Database>,
  draftId: string,
): Promise<{ numTasks: number; templates: Set<string> }> {
  const chunks = await db
    .selectFrom('bind_draft_chunk')
    .select(['seq', 'num_tasks', 'templates'])
    .where('draft_id', '=', draftId)
    .orderBy('seq')
    .execute();
  let numTasks = 0;
  const templates = new Set<string>();
  for (const c of chunks) {
    // Chunks sent with an offset may arrive in any order; together they must tile the request.
    if (c.seq !== numTasks)
      throw invalid(
        'offset',
        `the draft's chunks do not line up: one starts at task ${c.seq}, but ${numTasks} tasks come before it`,
        'chunk_gap',
      );
    numTasks += c.num_tasks;
    for (const t of c.templates) templates.add(t);
  }
  if (numTasks === 0) throw invalid('tasks', 'a workflow needs at least one task', 'no_tasks');
  return { numTasks, templates };
}

/**
 * Keys, and node args within a template, that repeat across chunks (planChunk refused repeats
 * within one). Runs before `checkStagedDag`, whose joins by key assume keys are unique. Names the
 * task a whole-request bind names (domain/dag.ts): the lowest index with an earlier twin, a
 * repeated key before repeated node args at the same index, and that twin's first occurrence.
 */
export async function checkStagedIdentity(db: Db, draftId: string): Promise<void> {
  const repeated = await db.transaction().execute(async (trx) => {
    // A million keys in one hash table, rather than spilled to disk in batches.
    for (const s of SORT_SETTINGS) await sql.raw(`set local ${s}`).execute(trx);
    const { rows } = await sql<{ repeated: boolean }>`
      select exists (select from bind_draft_task where draft_id = ${draftId}::uuid
                     group by key having count(*) > 1)
          or exists (select from bind_draft_task where draft_id = ${draftId}::uuid
                     group by template, node_args_hash having count(*) > 1) as repeated`.execute(trx);
    return rows[0].repeated;
  });
  if (!repeated) return;
  // Only now the naming query: its array_agg builds an array for every group before `having`
  // drops the unique ones, which the counts above do not.
  const { rows: first } = await sql<{ kind: 'key' | 'node'; idx: number; twin: number }>`
    with k as (
      select array_agg(idx order by idx) as at from bind_draft_task where draft_id = ${draftId}::uuid
      group by key having count(*) > 1),
    n as (
      select array_agg(idx order by idx) as at from bind_draft_task where draft_id = ${draftId}::uuid
      group by template, node_args_hash having count(*) > 1)
    select 'key' as kind, at[2] as idx, at[1] as twin from k
    union all
    select 'node', at[2], at[1] from n
    order by idx, kind limit 1`.execute(db);
  const { kind, idx, twin } = first[0];
  const { rows: named } = await sql<{ idx: number; key: string; template: string }>`
    select idx, key, template from bind_draft_task
    where draft_id = ${draftId}::uuid and idx in (${idx}::int, ${twin}::int)`.execute(db);
  const task = named.find((r) => r.idx === idx)!;
  if (kind === 'key') throw duplicateKey(idx, task.key, twin);
  throw duplicateNodeArgs(idx, task.key, task.template, twin, named.find((r) => r.idx === twin)!.key);
}

/**
 * Upstream keys that name no task, then cycles, then the workflow's identity hashes; throws naming
 * the task and upstream entry. One COPY reads every upstream entry as three numbers (task, upstream
 * task or -1 where the key names none, position), unordered: Postgres joins, the API counts.
 */
export async function checkStagedDag(
  db: Db,
  draftId: string,
  numTasks: number,
): Promise<{ taskHash: string; dagHash: string }> {
  const ups = new IntList(numTasks * 2);
  const downs = new IntList(numTasks * 2);
  let dangling: { idx: number; pos: number } | undefined;
  let forward = 0;
  await copyOut(
    db,
    `select s.idx, coalesce(u.idx, -1), k.pos from bind_draft_task s
       cross join lateral unnest(s.upstream) with ordinality as k(key, pos)
       left join bind_draft_task u on u.draft_id = s.draft_id and u.key = k.key
     where s.draft_id = '${draftId}'`,
    intRows(3, ([idx, up, pos]) => {
      if (up < 0) {
        // The first dangling entry in request order, as a whole-request bind names it.
        if (!dangling || idx < dangling.idx || (idx === dangling.idx && pos < dangling.pos)) dangling = { idx, pos };
        return;
      }
      if (up >= idx) forward++;
      downs.push(idx);
      ups.push(up);
    }),
    SORT_SETTINGS,
  );
  if (dangling) throw await danglingError(db, draftId, dangling.idx, dangling.pos);
  if (forward > 0) await checkNoCycle(db, draftId, numTasks, ups.length);
  return stagedHashes(db, draftId, numTasks, ups.view(), downs.view());
}

async function danglingError(db: Db, draftId: string, idx: number, pos: number) {
  const { rows } = await sql<{ key: string }>`
    select upstream[${pos}::int] as key from bind_draft_task
    where draft_id = ${draftId}::uuid and idx = ${idx}::int`.execute(db);
  return unknownUpstream(idx, pos - 1, rows[0].key);
}

/**
 * Only when some edge points forward in the request (see the header): the edges again, each task's
 * upstreams in the order given, so the cycle named is the one dag.ts would name.
 */
async function checkNoCycle(db: Db, draftId: string, numTasks: number, numEdges: number): Promise<void> {
  const ups = new Int32Array(numEdges);
  const downs = new Int32Array(numEdges);
  let e = 0;
  await copyOut(
    db,
    `select s.idx, u.idx from bind_draft_task s
       cross join lateral unnest(s.upstream) with ordinality as k(key, pos)
       join bind_draft_task u on u.draft_id = s.draft_id and u.key = k.key
     where s.draft_id = '${draftId}' order by s.idx, k.pos`,
    intRows(2, (f) => {
      downs[e] = f[0];
      ups[e] = f[1];
      e++;
    }),
    SORT_SETTINGS,
  );
  if (e !== numEdges) throw new Error(`draft ${draftId}: read ${e} edges, expected ${numEdges}`);
  const cycle = findCycle(numTasks, ups, downs, numEdges);
  if (cycle) throw await cycleError(db, draftId, cycle);
}

async function cycleError(db: Db, draftId: string, cycle: number[]) {
  const shown = cycle.slice(0, CYCLE_KEYS_SHOWN);
  const wanted = [...shown, cycle[cycle.length - 1]];
  const { rows } = await sql<{ idx: number; key: string; upstream: string[] }>`
    select idx, key, upstream from bind_draft_task
    where draft_id = ${draftId}::uuid and idx = any(${wanted}::int[])`.execute(db);
  const byIdx = new Map(rows.map((r) => [r.idx, r]));
  const task = cycle[0];
  // The upstream entry of the cycle's first task that closes the loop: the cycle's last task.
  const j = byIdx.get(task)!.upstream.indexOf(byIdx.get(cycle[cycle.length - 1])!.key);
  const keys = shown.map((i) => `"${byIdx.get(i)!.key}"`);
  const path =
    cycle.length > CYCLE_KEYS_SHOWN
      ? `${keys.join(' → ')} → … (${cycle.length} tasks)`
      : `${keys.join(' → ')} → ${keys[0]}`;
  return invalid(`tasks[${task}].upstream[${j}]`, `dependency cycle: ${path}`, 'cycle');
}

/**
 * The workflow's task hash and DAG hash (see the header): the task hashes once, sorted by
 * Postgres, then domain/dag-hash.ts ranks them and hashes the edges read above.
 */
async function stagedHashes(
  db: Db,
  draftId: string,
  numTasks: number,
  ups: Int32Array,
  downs: Int32Array,
): Promise<{ taskHash: string; dagHash: string }> {
  const hashes = new SortedTaskHashes(numTasks);
  await copyOut(
    db,
    `select idx, task_hash from bind_draft_task where draft_id = '${draftId}' order by task_hash collate "C"`,
    indexedHexRows(HASH_HEX_BYTES, (idx, hex) => hashes.add(idx, hex)),
    SORT_SETTINGS,
  );
  return { taskHash: hashes.workflowTaskHash(), dagHash: await hashes.dagHash(ups, downs) };
}

/** The cluster of the request's first task (the workflow's default when it names none). */
export async function firstTaskCluster(db: Db, draftId: string): Promise<string> {
  const { rows } = await sql<{ cluster_name: string }>`
    select r.cluster_name from bind_draft_task t
    join bind_draft_resource r on r.draft_id = t.draft_id and r.hash = t.resources_hash
    where t.draft_id = ${draftId}::uuid and t.idx = 0`.execute(db);
  return rows[0].cluster_name;
}

/** The draft's distinct resource requests (a handful, not one per task). */
export async function stagedResources(db: Db, draftId: string): Promise<Map<string, ResourceRequest>> {
  const rows = await db
    .selectFrom('bind_draft_resource')
    .select(['hash', 'cluster_name', 'requested'])
    .where('draft_id', '=', draftId)
    .execute();
  return new Map(
    rows.map((r) => [r.hash, { hash: r.hash, clusterName: r.cluster_name, resources: r.requested as Resources }]),
  );
}
