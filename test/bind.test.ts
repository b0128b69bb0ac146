/** Binding against a real Postgres: rows written, identity/resume, refusals that store nothing, scale. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { addDraftTasks, bindAll, commitDraft, createDraft } from '../src/sql/bind';
import { deleteExpiredDrafts } from '../src/sql/bind-store';
import { JobmonError } from '../src/domain/errors';
import type { BindRequest, TaskSpec } from '../src/domain/bind-spec';
import type { Db } from '../src/sql/db';
import { loadClusterCatalog } from '../src/sql/cluster-catalog';
import { checkDraftSpec } from '../src/domain/bind-checks';
import { planBind } from '../src/domain/bind-plan';

let t: TestDatabase;
let db: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  // A queue with tight limits for the "over the limit" case (the seeded null.q allows 1 TiB).
  await sql`insert into queue (cluster_id, name, parameters)
            select id, 'small.q', '{"cores": [1, 4], "memory": [0, 8]}' from cluster where name = 'multiprocess'`.execute(
    db,
  );
});
afterAll(async () => {
  await t?.destroy();
});

const TABLES = [
  'tool',
  'tool_version',
  'task_template',
  'task_template_version',
  'workflow',
  'workflow_attribute',
  'array_',
  'task_resources',
  'task',
  'task_dependency',
  'task_attribute',
  'bind_draft',
  'bind_draft_chunk',
] as const;

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
    out[table] = rows[0].n;
  }
  return out;
}

/** prep(loc) → model(loc, year) → summary; 3 locations. */
function smallDag(workflowArgs = 'small-1'): BindRequest {
  const locs = [1, 2, 3];
  const tasks: TaskSpec[] = [
    ...locs.map((loc) => ({ key: `prep-${loc}`, template: 'prep', node_args: { loc }, attributes: { stage: 'prep' } })),
    ...locs.map((loc) => ({
      key: `model-${loc}`,
      template: 'model',
      node_args: { loc },
      task_args: { year: 2020 },
      op_args: { verbose: '-v' },
      upstream: [`prep-${loc}`],
      compute_resources: { memory: '2G' },
    })),
    {
      key: 'summary',
      template: 'summary',
      name: 'summary_all',
      upstream: locs.map((loc) => `model-${loc}`),
      max_attempts: 1,
    },
  ];
  return {
    tool: { name: 'bind-test-tool' },
    workflow: {
      workflow_args: workflowArgs,
      name: 'small',
      description: 'three locations',
      attributes: { owner: 'team-a', round: 3 },
      max_concurrently_running: 10,
      default_cluster_name: 'multiprocess',
      default_compute_resources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' },
    },
    task_templates: [
      { name: 'prep', command_template: 'python prep.py --loc {loc}', node_args: ['loc'] },
      {
        name: 'model',
        command_template: 'python model.py --loc {loc} --year {year} {verbose}',
        node_args: ['loc'],
        task_args: ['year'],
        op_args: ['verbose'],
        max_concurrently_running: 2,
      },
      { name: 'summary', command_template: 'python summary.py' },
    ],
    tasks,
  };
}

async function expectRefused(fn: () => Promise<unknown>, field: string, code: string): Promise<JobmonError> {
  const before = await counts();
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a JobmonError at ${field}`).toBeInstanceOf(JobmonError);
  const err = caught as JobmonError;
  expect({ field: err.field, code: err.code }).toEqual({ field, code });
  expect(await counts()).toEqual(before);
  return err;
}

describe('bindAll', () => {
  it('stores a small DAG as the expected rows', async () => {
    const before = await counts();
    const result = await bindAll(db, 'alice', smallDag());
    expect(result).toMatchObject({ status: 'Q', newlyCreated: true, numTasks: 7 });
    const after = await counts();
    const added = Object.fromEntries(TABLES.map((k) => [k, after[k] - before[k]]));
    expect(added).toEqual({
      tool: 1,
      tool_version: 1,
      task_template: 3,
      task_template_version: 3,
      workflow: 1,
      workflow_attribute: 2,
      array_: 3,
      task_resources: 2,
      task: 7,
      task_dependency: 6,
      task_attribute: 3,
      bind_draft: 0,
      bind_draft_chunk: 0,
    });

    const wf = await db
      .selectFrom('workflow')
      .selectAll()
      .where('id', '=', result.workflowId)
      .executeTakeFirstOrThrow();
    expect(wf).toMatchObject({
      name: 'small',
      user: 'alice',
      status: 'Q',
      num_tasks: 7,
      max_concurrently_running: 10,
      default_cluster_name: 'multiprocess',
    });
    const tasks = await db
      .selectFrom('task')
      .selectAll()
      .where('workflow_id', '=', result.workflowId)
      .orderBy('id')
      .execute();
    const byName = new Map(tasks.map((row) => [row.name, row]));
    const model1 = byName.get('model_loc-1')!;
    expect(model1).toMatchObject({
      command: 'python model.py --loc 1 --year 2020 -v',
      node_args: { loc: '1' },
      task_args: { year: '2020' },
      op_args: { verbose: '-v' },
      upstream_count: 1,
      upstream_remaining: 1,
      max_attempts: 3,
      status: 'G',
      resource_scales: { memory: 0.5, runtime: 0.5 },
      fallback_queues: [],
    });
    expect(model1.task_resources_id).toBe(model1.original_resources_id);
    const res = await db
      .selectFrom('task_resources')
      .selectAll()
      .where('id', '=', model1.task_resources_id)
      .executeTakeFirstOrThrow();
    expect(res).toMatchObject({
      cluster_name: 'multiprocess',
      queue: 'null.q',
      resources_type: 'O',
      requested_resources: { queue: 'null.q', cores: 1, memory: 2, runtime: 600 },
    });
    expect(byName.get('summary_all')).toMatchObject({
      upstream_count: 3,
      max_attempts: 1,
      command: 'python summary.py',
    });
    // Ids follow a topological order.
    expect(byName.get('prep_loc-1')!.id).toBeLessThan(model1.id);
    expect(model1.id).toBeLessThan(byName.get('summary_all')!.id);

    const deps = await db
      .selectFrom('task_dependency')
      .selectAll()
      .where('downstream_task_id', '=', byName.get('summary_all')!.id)
      .execute();
    expect(deps.map((d) => d.upstream_task_id).sort()).toEqual(
      ['model_loc-1', 'model_loc-2', 'model_loc-3'].map((n) => byName.get(n)!.id).sort(),
    );
    const arrays = await db
      .selectFrom('array_')
      .select(['name', 'max_concurrently_running'])
      .where('workflow_id', '=', result.workflowId)
      .orderBy('name')
      .execute();
    expect(arrays).toEqual([
      { name: 'model', max_concurrently_running: 2 },
      { name: 'prep', max_concurrently_running: 2147483647 },
      { name: 'summary', max_concurrently_running: 2147483647 },
    ]);
    const attrs = await db
      .selectFrom('workflow_attribute')
      .select(['key', 'value'])
      .where('workflow_id', '=', result.workflowId)
      .orderBy('key')
      .execute();
    expect(attrs).toEqual([
      { key: 'owner', value: 'team-a' },
      { key: 'round', value: '3' },
    ]);
  });

  it('rebinding the same workflow returns it and updates its mutable fields only', async () => {
    const first = await bindAll(db, 'alice', smallDag('rebind-1'));
    const model1 = await db
      .selectFrom('task')
      .select(['id', 'task_resources_id'])
      .where('workflow_id', '=', first.workflowId)
      .where('name', '=', 'model_loc-1')
      .executeTakeFirstOrThrow();
    await db.updateTable('task').set({ status: 'D' }).where('id', '=', model1.id).execute();

    const again = smallDag('rebind-1');
    again.workflow.name = 'renamed';
    again.workflow.attributes = { owner: 'team-b' };
    again.task_templates[1].command_template = 'python model_v2.py {verbose} --loc {loc} --year {year}';
    again.task_templates[1].max_concurrently_running = 5;
    const m1 = again.tasks.find((x) => x.key === 'model-1')!;
    m1.op_args = { verbose: '--quiet' };
    m1.name = 'model_one';
    m1.compute_resources = { memory: '3G' };
    const before = await counts();
    const second = await bindAll(db, 'alice', again);
    expect(second).toMatchObject({ workflowId: first.workflowId, status: 'Q', newlyCreated: false, numTasks: 7 });
    expect(second.taskIds).toEqual(first.taskIds);

    const after = await counts();
    // Only a new template version and a new resource request are new rows.
    expect(after.task - before.task).toBe(0);
    expect(after.workflow - before.workflow).toBe(0);
    expect(after.task_template_version - before.task_template_version).toBe(1);
    expect(after.task_resources - before.task_resources).toBe(1);

    const row = await db.selectFrom('task').selectAll().where('id', '=', model1.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      name: 'model_one',
      op_args: { verbose: '--quiet' },
      command: 'python model_v2.py --quiet --loc 1 --year 2020',
      status: 'D',
    });
    expect(row.original_resources_id).not.toBe(model1.task_resources_id);
    expect(row.task_resources_id).toBe(row.original_resources_id);
    const other = await db
      .selectFrom('task')
      .select('command')
      .where('workflow_id', '=', first.workflowId)
      .where('name', '=', 'model_loc-2')
      .executeTakeFirstOrThrow();
    expect(other.command).toBe('python model_v2.py -v --loc 2 --year 2020');
    const wf = await db
      .selectFrom('workflow')
      .select(['name'])
      .where('id', '=', first.workflowId)
      .executeTakeFirstOrThrow();
    expect(wf.name).toBe('renamed');
    const attrs = await db
      .selectFrom('workflow_attribute')
      .select(['key', 'value'])
      .where('workflow_id', '=', first.workflowId)
      .orderBy('key')
      .execute();
    expect(attrs).toEqual([
      { key: 'owner', value: 'team-b' },
      { key: 'round', value: '3' },
    ]);
    const arr = await db
      .selectFrom('array_')
      .select('max_concurrently_running')
      .where('workflow_id', '=', first.workflowId)
      .where('name', '=', 'model')
      .executeTakeFirstOrThrow();
    expect(arr.max_concurrently_running).toBe(5);
  });

  it('refuses the same workflow_args with different tasks', async () => {
    await bindAll(db, 'alice', smallDag('conflict-1'));
    const different = smallDag('conflict-1');
    different.tasks = different.tasks.filter((x) => x.key !== 'prep-3' && x.key !== 'model-3');
    different.tasks.find((x) => x.key === 'summary')!.upstream = ['model-1', 'model-2'];
    const err = await expectRefused(
      () => bindAll(db, 'alice', different),
      undefined as unknown as string,
      'workflow_args_reused',
    );
    expect(err.kind).toBe('conflict');
  });

  describe('refuses bad input naming the field, storing nothing', () => {
    const mutate = (fn: (r: BindRequest) => void): BindRequest => {
      const r = smallDag(`bad-${Math.random()}`);
      fn(r);
      return r;
    };
    const task = (r: BindRequest, key: string) => r.tasks.find((x) => x.key === key)!;

    it.each<[string, (r: BindRequest) => void, string, string]>([
      ['a cycle', (r) => (task(r, 'prep-2').upstream = ['summary']), 'tasks[1].upstream[0]', 'cycle'],
      [
        'an unknown upstream',
        (r) => (task(r, 'model-2').upstream = ['prep-2', 'prep-9']),
        'tasks[4].upstream[1]',
        'unknown_upstream',
      ],
      [
        'duplicate node args',
        (r) => (task(r, 'prep-3').node_args = { loc: 1 }),
        'tasks[2].node_args',
        'duplicate_node_args',
      ],
      [
        'a command template with an unknown arg',
        (r) => (r.task_templates[0].command_template = 'prep {loc} {nope}'),
        'task_templates[0].command_template',
        'unknown_arg',
      ],
      [
        'a bad memory string',
        (r) => (task(r, 'model-3').compute_resources = { memory: 'lots' }),
        'tasks[5].compute_resources.memory',
        'bad_resources',
      ],
      [
        'no queue anywhere',
        (r) => (r.workflow.default_compute_resources = { cores: 1 }),
        'tasks[0].compute_resources.queue',
        'missing_queue',
      ],
      [
        'an unknown queue',
        (r) => (task(r, 'prep-1').compute_resources = { queue: 'nope.q' }),
        'tasks[0].compute_resources.queue',
        'unknown_queue',
      ],
      [
        'a request over the queue limit',
        (r) => (task(r, 'model-1').compute_resources = { queue: 'small.q', memory: '16G' }),
        'tasks[3].compute_resources.memory',
        'outside_queue_limits',
      ],
      [
        'an unknown cluster',
        (r) => (r.workflow.default_cluster_name = 'mars'),
        'workflow.default_cluster_name',
        'unknown_cluster',
      ],
      [
        'an unknown task cluster',
        (r) => (task(r, 'summary').cluster_name = 'mars'),
        'tasks[6].cluster_name',
        'unknown_cluster',
      ],
      [
        'task args not matching the template',
        (r) => (task(r, 'model-2').task_args = { yr: 2020 }),
        'tasks[4].task_args.year',
        'missing_arg',
      ],
      [
        'an extra node arg',
        (r) => (task(r, 'prep-2').node_args = { loc: 2, sex: 1 }),
        'tasks[1].node_args.sex',
        'unknown_arg',
      ],
      ['a missing op arg', (r) => (task(r, 'model-1').op_args = {}), 'tasks[3].op_args.verbose', 'missing_arg'],
      ['a bad task name', (r) => (task(r, 'summary').name = '9 lives'), 'tasks[6].name', 'bad_name'],
      ['an unknown template', (r) => (task(r, 'summary').template = 'nope'), 'tasks[6].template', 'unknown_template'],
      ['a duplicate key', (r) => (task(r, 'prep-2').key = 'prep-1'), 'tasks[1].key', 'duplicate_key'],
      ['no tasks', (r) => (r.tasks = []), 'tasks', 'no_tasks'],
      [
        'a misspelled task field',
        (r) => Object.assign(task(r, 'summary'), { upstreams: ['prep-1'] }),
        'tasks[6].upstreams',
        'unknown_field',
      ],
      [
        'a misspelled workflow field',
        (r) => Object.assign(r.workflow, { default_compute_resource: {} }),
        'workflow.default_compute_resource',
        'unknown_field',
      ],
    ])('%s', async (_what, fn, field, code) => {
      await expectRefused(() => bindAll(db, 'alice', mutate(fn)), field, code);
    });
  });
});

describe('drafts', () => {
  it('binds from several chunks with global indexes in errors', async () => {
    const { tasks, ...spec } = smallDag('chunks-1');
    const draftId = await createDraft(db, 'bob', spec);
    expect(await addDraftTasks(db, draftId, 'bob', tasks.slice(0, 4))).toEqual({ received: 4, total: 4 });
    const bad = structuredClone(tasks.slice(4));
    bad[1].op_args = { verbose: 1, extra: 2 };
    await expectRefused(() => addDraftTasks(db, draftId, 'bob', bad), 'tasks[5].op_args.extra', 'unknown_arg');
    expect(await addDraftTasks(db, draftId, 'bob', tasks.slice(4))).toEqual({ received: 3, total: 7 });
    await expectRefused(
      () => addDraftTasks(db, draftId, 'mallory', tasks.slice(4)),
      undefined as unknown as string,
      'not_found',
    );
    await expectRefused(() => commitDraft(db, draftId, 'mallory'), undefined as unknown as string, 'not_found');
    const result = await commitDraft(db, draftId, 'bob');
    expect(result).toMatchObject({ newlyCreated: true, numTasks: 7 });
    await expectRefused(() => commitDraft(db, draftId, 'bob'), undefined as unknown as string, 'not_found');
  });

  it('takes chunks with offsets in any order, and refuses a repeated or misplaced one', async () => {
    const { tasks, ...spec } = smallDag('chunks-offset');
    const draftId = await createDraft(db, 'bob', spec);
    // The second half first: errors name tasks by their index in the whole request.
    const bad = structuredClone(tasks.slice(4));
    bad[1].op_args = { verbose: 1, extra: 2 };
    await expectRefused(() => addDraftTasks(db, draftId, 'bob', bad, 4), 'tasks[5].op_args.extra', 'unknown_arg');
    expect(await addDraftTasks(db, draftId, 'bob', tasks.slice(4), 4)).toEqual({ received: 3, total: 3 });
    await expectRefused(
      () => addDraftTasks(db, draftId, 'bob', tasks.slice(4), 4),
      undefined as unknown as string,
      'chunk_already_sent',
    );
    expect(await addDraftTasks(db, draftId, 'bob', tasks.slice(0, 4), 0)).toEqual({ received: 4, total: 7 });
    const result = await commitDraft(db, draftId, 'bob');
    expect(result).toMatchObject({ newlyCreated: true, numTasks: 7 });
    // Bind order is the request's order, not the arrival order: ids ascend with the task index
    // among tasks at the same DAG depth (prep-1..3 first, then model-1..3).
    const { rows } = await sql<{ name: string }>`
      select name from task where workflow_id = ${result.workflowId}::int order by id`.execute(db);
    expect(rows.map((r) => r.name).slice(0, 3)).toEqual(['prep_loc-1', 'prep_loc-2', 'prep_loc-3']);

    // A gap (chunk at 0 of 4 tasks, then one at 5) is refused at commit, and nothing is bound.
    const other = smallDag('chunks-gap');
    const { tasks: gapTasks, ...gapSpec } = other;
    const gapDraft = await createDraft(db, 'bob', gapSpec);
    await addDraftTasks(db, gapDraft, 'bob', gapTasks.slice(0, 4), 0);
    await addDraftTasks(db, gapDraft, 'bob', gapTasks.slice(4), 5);
    await expect(addDraftTasks(db, gapDraft, 'bob', gapTasks, -1)).rejects.toMatchObject({ field: 'offset' });
    await expect(commitDraft(db, gapDraft, 'bob')).rejects.toMatchObject({ field: 'offset', code: 'chunk_gap' });
    expect(await db.selectFrom('bind_draft').select('id').where('id', '=', gapDraft).execute()).toEqual([]);
  });

  it('deletes the draft when commit refuses it', async () => {
    const { tasks, ...spec } = smallDag('chunks-2');
    const draftId = await createDraft(db, 'bob', spec);
    await addDraftTasks(db, draftId, 'bob', tasks.slice(0, 4));
    const moreWithCycle = structuredClone(tasks.slice(4));
    moreWithCycle[0].upstream = ['summary'];
    await addDraftTasks(db, draftId, 'bob', moreWithCycle);
    await expect(commitDraft(db, draftId, 'bob')).rejects.toMatchObject({ code: 'cycle' });
    expect(await db.selectFrom('bind_draft').select('id').where('id', '=', draftId).execute()).toEqual([]);
  });

  it('refuses oversize chunks and bad draft specs', async () => {
    const { tasks, ...spec } = smallDag('chunks-3');
    const draftId = await createDraft(db, 'bob', spec);
    const many = Array.from({ length: 5_001 }, (_, i) => ({ ...tasks[0], key: `k${i}` }));
    const err = await expectRefused(() => addDraftTasks(db, draftId, 'bob', many), 'tasks', 'too_large');
    expect(err.kind).toBe('too_large');
    await expectRefused(
      () =>
        createDraft(db, 'bob', { ...spec, task_templates: [{ ...spec.task_templates[0], node_args: ['loc', 'loc'] }] }),
      'task_templates[0].node_args[1]',
      'duplicate_arg',
    );
    await expectRefused(
      () => createDraft(db, 'bob', { ...spec, tool: { name: 'bind-test-tool', version_id: 99_999 } }),
      'tool.version_id',
      'unknown_tool_version',
    );
    await expectRefused(
      () =>
        createDraft(db, 'bob', {
          ...spec,
          workflow: { ...spec.workflow, default_compute_resources: { queue: 'null.q', memory: '1X' } },
        }),
      'workflow.default_compute_resources.memory',
      'bad_resources',
    );
  });

  it('gives a workflow without workflow_args a fresh identity each time', async () => {
    const r = smallDag();
    delete r.workflow.workflow_args;
    const a = await bindAll(db, 'carol', r);
    const b = await bindAll(db, 'carol', r);
    expect(a.workflowId).not.toBe(b.workflowId);
    expect(b.newlyCreated).toBe(true);
  });

  it('refuses keys and node args repeated across chunks at commit, naming the later task, in any arrival order', async () => {
    const { tasks, ...spec } = smallDag('chunks-dup');
    /** A draft of tasks[4..6] sent first, then `head` (tasks 0..3) at offset 0, then committed. */
    async function commitWithHead(head: typeof tasks) {
      const draftId = await createDraft(db, 'bob', spec);
      await addDraftTasks(db, draftId, 'bob', tasks.slice(4), 4);
      await addDraftTasks(db, draftId, 'bob', head, 0);
      try {
        return await commitDraft(db, draftId, 'bob');
      } finally {
        // Refused at commit: the draft and its rows are gone.
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from bind_draft_task where draft_id = ${draftId}::uuid`.execute(db);
        expect(rows[0].n).toBe(0);
      }
    }
    const again = structuredClone(tasks.slice(0, 4));
    again[1].key = 'model-2'; // the key of tasks[4], sent earlier: the later index is named
    await expectRefused(() => commitWithHead(again), 'tasks[4].key', 'duplicate_key');
    const twin = structuredClone(tasks.slice(0, 4));
    twin[3] = { ...tasks[4], key: 'model-9' }; // model loc 2 again, as tasks[3]
    await expectRefused(() => commitWithHead(twin), 'tasks[4].node_args', 'duplicate_node_args');
    // Two repeats: the lower refused index is named (node args at 4 before the key at 5) ...
    const both = structuredClone(twin);
    both[2].key = 'model-3';
    await expectRefused(() => commitWithHead(both), 'tasks[4].node_args', 'duplicate_node_args');
    // ... and at the same index the key comes first, as in a whole-request bind.
    const whole = structuredClone(tasks.slice(0, 4));
    whole[3] = structuredClone(tasks[4]);
    await expectRefused(() => commitWithHead(whole), 'tasks[4].key', 'duplicate_key');

    const draftId = await createDraft(db, 'bob', spec);
    await addDraftTasks(db, draftId, 'bob', tasks.slice(4), 4);
    const overlap = await addDraftTasks(db, draftId, 'bob', tasks.slice(0, 2), 3).catch((err: unknown) => err);
    expect(overlap).toMatchObject({ field: 'offset', code: 'chunk_gap' });
    expect(await addDraftTasks(db, draftId, 'bob', tasks.slice(0, 4), 0)).toEqual({ received: 4, total: 7 });
    expect(await commitDraft(db, draftId, 'bob')).toMatchObject({ newlyCreated: true, numTasks: 7 });
  });

  it('names a repeated key before a dangling upstream, and a dangling upstream before a cycle', async () => {
    // The order a whole-request bind names them in (domain/dag.ts), whatever order commit's
    // checks over the stored rows run in.
    const { tasks, ...spec } = smallDag('chunks-precedence');
    async function commitChunks(head: TaskSpec[], tail: TaskSpec[]) {
      const draftId = await createDraft(db, 'bob', spec);
      await addDraftTasks(db, draftId, 'bob', tail, 4);
      await addDraftTasks(db, draftId, 'bob', head, 0);
      return commitDraft(db, draftId, 'bob');
    }
    const dangling = structuredClone(tasks.slice(4));
    dangling[2].upstream = [...(dangling[2].upstream ?? []), 'nowhere']; // tasks[6].upstream[3]
    const looped = structuredClone(tasks.slice(0, 4));
    looped[0].upstream = ['summary']; // prep-1 ← summary ← model-1 ← prep-1
    const repeated = structuredClone(looped);
    repeated[3].key = 'model-2'; // the key of tasks[4]
    await expectRefused(() => commitChunks(repeated, dangling), 'tasks[4].key', 'duplicate_key');
    await expectRefused(() => commitChunks(looped, dangling), 'tasks[6].upstream[3]', 'unknown_upstream');
    await expectRefused(() => commitChunks(looped, tasks.slice(4)), 'tasks[0].upstream[0]', 'cycle');
  });

  it('binds tasks sent downstream-first, and finds a cycle through such edges', async () => {
    const r = smallDag('reversed');
    r.tasks.reverse();
    const bound = await bindAll(db, 'bob', r);
    expect(bound).toMatchObject({ newlyCreated: true, numTasks: 7 });
    // The same tasks in the original order: the same workflow (identity ignores order).
    expect(await bindAll(db, 'bob', smallDag('reversed'))).toMatchObject({
      workflowId: bound.workflowId,
      newlyCreated: false,
    });
    const looped = smallDag('reversed-cycle');
    looped.tasks.reverse(); // summary, model-3..1, prep-3..1
    looped.tasks[6].upstream = ['summary']; // prep-1 ← summary ← model-1 ← prep-1
    await expectRefused(() => bindAll(db, 'bob', looped), 'tasks[0].upstream[0]', 'cycle');
  });

  it('stores keys, args and attributes with tabs, newlines, backslashes and quotes exactly as sent', async () => {
    const r = smallDag('copy-escaping');
    const odd = 'a\tb\nc\rd\\e"f\\N{g}\u00e9';
    const prep = r.tasks[0];
    prep.key = `prep ${odd}`;
    prep.node_args = { loc: odd };
    prep.attributes = { note: odd };
    r.tasks[3].upstream = [prep.key];
    const bound = await bindAll(db, 'bob', r);
    const { rows } = await sql<{ key: string; node_args: unknown; command: string; value: string }>`
      select t.key, t.node_args, t.command, a.value from task t
      join task_attribute a on a.task_id = t.id and a.key = 'note'
      where t.workflow_id = ${bound.workflowId}::int and t.key = ${prep.key}`.execute(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key: prep.key, node_args: { loc: odd }, value: odd });
    expect(rows[0].command).toContain('prep.py --loc');
    const edge = await sql<{ n: number }>`
      select count(*)::int as n from task_dependency d join task u on u.id = d.upstream_task_id
      where u.workflow_id = ${bound.workflowId}::int and u.key = ${prep.key}`.execute(db);
    expect(edge.rows[0].n).toBe(1);
    // The same request again is the same workflow: the stored hashes are the request's.
    expect(await bindAll(db, 'bob', r)).toMatchObject({ workflowId: bound.workflowId, newlyCreated: false });
  });

  it('stores the identity hashes a whole-request plan computes', async () => {
    const r = smallDag('hash-reference');
    const bound = await bindAll(db, 'bob', r);
    const { tasks, ...spec } = r;
    const catalog = await loadClusterCatalog(db);
    const reference = planBind(checkDraftSpec(spec, catalog), tasks, catalog);
    const row = await db
      .selectFrom('workflow')
      .select(['task_hash', 'dag_hash'])
      .where('id', '=', bound.workflowId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ task_hash: reference.taskHash, dag_hash: reference.dagHash });
  });

  it('collects stale drafts', async () => {
    const { tasks: _tasks, ...spec } = smallDag('stale-1');
    const draftId = await createDraft(db, 'bob', spec);
    expect(await deleteExpiredDrafts(db, 3600)).toBe(0);
    await sql`update bind_draft set created_date = now() - interval '2 hours' where id = ${draftId}::uuid`.execute(db);
    expect(await deleteExpiredDrafts(db, 3600)).toBe(1);
  });
});

describe('scale', () => {
  it('binds a 100,000-task layered DAG in seconds', async () => {
    // 1 root → 100 → 10,000 → 89,899 leaves; every 10th leaf also depends on a second mid task (fan-in).
    const tasks: TaskSpec[] = [{ key: 'r', template: 'root', node_args: { i: 0 } }];
    for (let i = 0; i < 100; i++) tasks.push({ key: `a${i}`, template: 'layer_a', node_args: { i }, upstream: ['r'] });
    for (let i = 0; i < 10_000; i++)
      tasks.push({ key: `b${i}`, template: 'layer_b', node_args: { i }, upstream: [`a${i % 100}`] });
    for (let i = 0; i < 89_899; i++) {
      const upstream = [`b${i % 10_000}`];
      if (i % 10 === 0) upstream.push(`b${(i * 7 + 1) % 10_000}`);
      if (upstream[1] === upstream[0]) upstream.pop();
      tasks.push({
        key: `c${i}`,
        template: 'leaf',
        node_args: { i },
        task_args: { year: 2020 },
        op_args: { v: '-v' },
        upstream,
        attributes: i % 100 === 0 ? { sample: 'yes' } : undefined,
      });
    }
    expect(tasks).toHaveLength(100_000);
    const request: BindRequest = {
      tool: { name: 'scale-tool' },
      workflow: {
        workflow_args: 'scale-100k',
        default_cluster_name: 'dummy',
        default_compute_resources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '1h' },
      },
      task_templates: [
        { name: 'root', command_template: 'root {i}', node_args: ['i'] },
        { name: 'layer_a', command_template: 'a {i}', node_args: ['i'] },
        { name: 'layer_b', command_template: 'b {i}', node_args: ['i'] },
        {
          name: 'leaf',
          command_template: 'leaf {i} --year {year} {v}',
          node_args: ['i'],
          task_args: ['year'],
          op_args: ['v'],
        },
      ],
      tasks,
    };
    const t0 = performance.now();
    const result = await bindAll(db, 'scale', request);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`bind of 100,000 tasks took ${seconds.toFixed(2)} s`);
    expect(result).toMatchObject({ newlyCreated: true, numTasks: 100_000 });
    const { rows } = await sql<{ tasks: number; edges: number; ready: number }>`
      select (select count(*)::int from task where workflow_id = ${result.workflowId}::int) as tasks,
             (select count(*)::int from task_dependency d join task t on t.id = d.downstream_task_id where t.workflow_id = ${result.workflowId}::int) as edges,
             (select count(*)::int from task where workflow_id = ${result.workflowId}::int and upstream_remaining = 0) as ready`.execute(
      db,
    );
    const expectedEdges = tasks.reduce((n, x) => n + (x.upstream?.length ?? 0), 0);
    expect(rows[0]).toEqual({ tasks: 100_000, edges: expectedEdges, ready: 1 });
    // How fast is the benchmark's business (npm run bench), not this test's.

    // Rebinding the same 100,000 tasks is a resume: same workflow, updated in place.
    const t1 = performance.now();
    const again = await bindAll(db, 'scale', request);
    console.log(`rebind of 100,000 tasks took ${((performance.now() - t1) / 1000).toFixed(2)} s`);
    expect(again).toMatchObject({ workflowId: result.workflowId, newlyCreated: false });
  }, 120_000);
});
