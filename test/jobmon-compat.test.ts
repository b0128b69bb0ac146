/**
 * What a Jobmon user moving over relies on (issue 17), against a real Postgres through the API
 * without Temporal: clusters and queues can be discovered, the bind answer maps each task key to
 * its task id and names the resource keys a cluster type will not use, the task list carries key,
 * node_args and template, and the working directory and `stdout`/`stderr` log directories recorded
 * at bind reach the wrapper's running answer.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { createApp } from '../src/api/app';
import { localAuth } from '../src/api/auth';
import { ignoredResourceKeys } from '../src/domain/cluster-keys';
import { createTestDatabase, type TestDatabase } from './helpers/db';

type Json = Record<string, any>;

let tdb: TestDatabase;
let config: Config;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  tdb = await createTestDatabase();
  config = loadConfig(
    { databaseUrl: tdb.url, user: 'alice', logDir: path.join(os.tmpdir(), 'jmt-compat-test-logs') },
    {},
  );
  const temporal = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
  app = createApp({ db: tdb.db, temporal, config, auth: localAuth('alice') });
});
afterAll(async () => {
  await tdb?.destroy();
});

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

function request(args: string, extra: { workflow?: Json; template?: Json; resources?: Json } = {}) {
  return {
    tool: { name: 'compat_tool' },
    workflow: {
      workflow_args: args,
      default_cluster_name: 'multiprocess',
      default_compute_resources: { queue: 'null.q', cores: 1, ...extra.resources },
      ...extra.workflow,
    },
    task_templates: [
      { name: 'model', command_template: 'python model.py --loc {loc}', node_args: ['loc'], ...extra.template },
      { name: 'agg', command_template: 'python agg.py' },
    ],
    tasks: [
      { key: 'loc-1', template: 'model', node_args: { loc: 1 } },
      { key: 'loc-2', template: 'model', node_args: { loc: 2 } },
      { key: 'all', template: 'agg', upstream: ['loc-1', 'loc-2'] },
    ],
  };
}

describe('discoverable clusters', () => {
  it('GET /api/v1/clusters lists clusters, types, queues with limits and honoured keys', async () => {
    const { status, body } = await call('GET', '/api/v1/clusters');
    expect(status).toBe(200);
    const byName = new Map((body.clusters as Json[]).map((c) => [c.name, c]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['dummy', 'sequential', 'multiprocess']));
    const mp = byName.get('multiprocess')!;
    expect(mp.cluster_type).toBe('multiprocess');
    expect(mp.queues).toEqual([
      { name: 'null.q', limits: { cores: [1, 64], memory: [0, 1048576], runtime: [1, 31536000] } },
    ]);
    expect(mp.honoured_resource_keys).toEqual(['queue', 'stdout', 'stderr']);
    expect(byName.get('dummy')!.honoured_resource_keys).toEqual(['queue']);
  });
});

describe('the bind answer', () => {
  it('maps each task key to its task id, the same on a re-bind', async () => {
    const first = await call('POST', '/api/v1/bind', request('keys-1'));
    expect(first.status).toBe(200);
    const ids = first.body.task_ids as Record<string, number>;
    expect(Object.keys(ids).sort()).toEqual(['all', 'loc-1', 'loc-2']);
    const again = await call('POST', '/api/v1/bind', request('keys-1'));
    expect(again.body.newly_created).toBe(false);
    expect(again.body.task_ids).toEqual(ids);

    const list = await call('GET', `/api/v1/workflows/${first.body.workflow_id}/tasks`);
    const byKey = new Map((list.body.tasks as Json[]).map((t) => [t.key, t]));
    expect(byKey.get('loc-2')).toMatchObject({ id: ids['loc-2'], template: 'model', node_args: { loc: '2' } });
    expect(byKey.get('all')).toMatchObject({ id: ids.all, template: 'agg', node_args: {} });
  });

  it('lists the resource keys the cluster type will not use, and accepts them', async () => {
    const bound = await call(
      'POST',
      '/api/v1/bind',
      request('ignored-1', { resources: { project: 'proj_x', constraints: 'archive', stdout: '/tmp/o' } }),
    );
    expect(bound.status).toBe(200);
    // cores is checked against the queue's limits at bind, so not reported as ignored.
    expect(bound.body.ignored_resource_keys).toEqual({ multiprocess: ['constraints', 'project'] });
    const none = await call('POST', '/api/v1/bind', {
      ...request('ignored-2'),
      workflow: {
        workflow_args: 'ignored-2',
        default_cluster_name: 'dummy',
        default_compute_resources: { queue: 'null.q' },
      },
    });
    expect(none.body.ignored_resource_keys).toEqual({});
  });

  it('refuses a working_dir that is not an absolute path, naming the field', async () => {
    const bad = await call('POST', '/api/v1/bind', request('wd-bad', { template: { working_dir: 'relative/dir' } }));
    expect(bad.status).toBe(422);
    expect(bad.body.error.field).toBe('task_templates[0].working_dir');
  });
});

describe('run semantics recorded at bind', () => {
  it("the running answer carries the workflow's (or template's) working dir and the stdout/stderr dirs", async () => {
    const bound = await call(
      'POST',
      '/api/v1/bind',
      request('wd-1', {
        workflow: { working_dir: '/srv/project' },
        template: { working_dir: '/srv/models' },
        resources: { stdout: '/srv/logs/out', stderr: 'logs/err' },
      }),
    );
    expect(bound.status).toBe(200);
    const wf = bound.body.workflow_id as number;
    const db = tdb.db;
    const run = await db
      .insertInto('workflow_run')
      .values({ workflow_id: wf, user: 'alice', jobmon_version: 't', status: 'R', temporal_workflow_id: `t-${wf}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    const running: Json = {};
    for (const key of ['loc-1', 'all']) {
      const task = await db
        .selectFrom('task')
        .selectAll()
        .where('id', '=', bound.body.task_ids[key])
        .executeTakeFirstOrThrow();
      const batch = await db
        .insertInto('task_batch')
        .values({
          workflow_run_id: run.id,
          workflow_id: wf,
          array_id: task.array_id,
          task_resources_id: task.task_resources_id,
          cluster_name: 'multiprocess',
          size: 1,
          status: 'S',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const ti = await db
        .insertInto('task_instance')
        .values({
          workflow_run_id: run.id,
          workflow_id: wf,
          task_id: task.id,
          array_id: task.array_id,
          batch_id: batch.id,
          array_step_id: 0,
          task_resources_id: task.task_resources_id,
          status: 'O',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db.updateTable('task').set({ status: 'O', num_attempts: 1 }).where('id', '=', task.id).execute();
      const res = await call('POST', `/api/v1/task-instances/${ti.id}/running`, {
        distributor_id: `job-${ti.id}`,
        nodename: 'node1',
        process_id: 1,
      });
      expect(res.status).toBe(200);
      running[key] = { ...res.body, ti: Number(ti.id) };
    }
    // The template's own directory wins; the workflow's applies to the other template.
    expect(running['loc-1'].working_dir).toBe('/srv/models');
    expect(running.all.working_dir).toBe('/srv/project');
    // Jobmon's log names in the stdout/stderr directories; a relative one is under the working dir.
    expect(running['loc-1'].stdout_path).toBe(`/srv/logs/out/model_loc-1.o${running['loc-1'].ti}`);
    expect(running['loc-1'].stderr_path).toBe(`/srv/models/logs/err/model_loc-1.e${running['loc-1'].ti}`);
    expect(running.all.stderr_path).toBe(`/srv/project/logs/err/agg.e${running.all.ti}`);
  });
});

describe('ignoredResourceKeys', () => {
  it('names per cluster the keys its type does not act on; unknown types are trusted', () => {
    const types = new Map([
      ['slurm', 'slurm'],
      ['local', 'sequential'],
      ['plugin', 'some-plugin'],
    ]);
    const got = ignoredResourceKeys(
      [
        { clusterName: 'slurm', resources: { queue: 'all.q', memory: 8, project: 'p', gres: 'gpu:1' } },
        { clusterName: 'local', resources: { queue: 'null.q', memory: 8, stdout: '/x' } },
        { clusterName: 'plugin', resources: { queue: 'q', anything: 1 } },
      ],
      types,
    );
    // `project` is Slurm's account (Jobmon's Slurm plugin); `gres` is not a key any type acts on;
    // a local type's memory is checked at bind against the queue, so it is not reported.
    expect(got).toEqual({ slurm: ['gres'] });
  });
});
