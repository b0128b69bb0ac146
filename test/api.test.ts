/**
 * The HTTP API against a real Postgres database: routing, auth, validation and error mapping,
 * the read queries, and the worker-node wrapper callbacks. Most requests go through
 * `app.request()` (no sockets); one block starts a real server on loopback to cover
 * `startApiServer`, Content-Length based body limits and shutdown.
 *
 * Temporal is deliberately unreachable here (a getter that rejects): runs and controls must then
 * answer 503 after the auth and owner checks, and every read must still work.
 */
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { createApp } from '../src/api/app';
import { localAuth, parseTokens, type AuthConfig } from '../src/api/auth';
import { startApiServer } from '../src/api/main';
import type { RunNotifier } from '../src/control/run-notifier';
import { createDb, type Db } from '../src/sql/db';
import { lazyTemporalClient } from '../src/api/temporal';
import { JobmonError } from '../src/domain/errors';
import { mintJobToken } from '../src/domain/job-tokens';
import { serverSecret } from '../src/sql/server-secrets';
import { createRun } from '../src/sql/runs';
import { RUN_START_GRACE_S } from '../src/control/runs';
import { sql } from 'kysely';
import { writeHeartbeats } from '../src/sql/heartbeat-batch';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { adminUrl } from './helpers/db-names';
import { freePort } from './helpers/ports';
import { waitFor } from './helpers/wait';
import { connectTemporal, temporalAddress, temporalNamespace, type TemporalConnections } from './helpers/temporal';

const TOKENS =
  'alice-token-1:alice:operator,bob-token-22:bob:operator,watch-token-3:watcher:observer,admin-token-4:root:admin';

let tdb: TestDatabase;
let db: Db;
let config: Config;

const temporalDown = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));

function makeApp(auth: AuthConfig, notifier?: RunNotifier) {
  return createApp({ db, temporal: temporalDown, config, auth, notifier });
}

type Json = Record<string, any>;

async function call(
  app: ReturnType<typeof makeApp>,
  method: string,
  url: string,
  options: { body?: unknown; raw?: string; token?: string } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await app.request(url, { method, headers, body });
  const text = await res.text();
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

/** Two templates: four `model` tasks (one per location) feeding one `agg` task. */
function bindRequest(workflowArgs: string, extra: { tasks?: Json[] } = {}) {
  return {
    tool: { name: 'api_test_tool' },
    workflow: {
      workflow_args: workflowArgs,
      name: `wf ${workflowArgs}`,
      default_cluster_name: 'dummy',
      default_compute_resources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' },
    },
    task_templates: [
      {
        name: 'model',
        command_template: 'python model.py --loc {location_id} {verbose}',
        node_args: ['location_id'],
        op_args: ['verbose'],
      },
      { name: 'agg', command_template: 'python agg.py --year {year}', node_args: ['year'] },
    ],
    tasks: extra.tasks ?? [
      ...[1, 2, 3, 4].map((loc) => ({
        key: `m${loc}`,
        template: 'model',
        node_args: { location_id: loc },
        op_args: { verbose: '-v' },
        attributes: { group: loc <= 2 ? 'low' : 'high' },
      })),
      { key: 'agg', template: 'agg', node_args: { year: 2020 }, upstream: ['m1', 'm2', 'm3', 'm4'] },
    ],
  };
}

async function taskIds(workflowId: number): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('task')
    .select(['id', 'name'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id')
    .execute();
  return new Map(rows.map((r) => [r.name, Number(r.id)]));
}

/** A run, a batch and one launched (O) instance per given task, as the scheduler would create them. */
async function launchInstances(workflowId: number, ids: number[]): Promise<number[]> {
  const run = await db
    .insertInto('workflow_run')
    .values({
      workflow_id: workflowId,
      user: 'alice',
      jobmon_version: 'test',
      status: 'R',
      temporal_workflow_id: `test-wf-${workflowId}`,
      temporal_run_id: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const out: number[] = [];
  for (const [step, taskId] of ids.entries()) {
    const task = await db
      .selectFrom('task')
      .select(['array_id', 'task_resources_id'])
      .where('id', '=', taskId)
      .executeTakeFirstOrThrow();
    const batch = await db
      .insertInto('task_batch')
      .values({
        workflow_run_id: run.id,
        workflow_id: workflowId,
        array_id: task.array_id,
        task_resources_id: task.task_resources_id,
        cluster_name: 'dummy',
        size: 1,
        status: 'S',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const ti = await db
      .insertInto('task_instance')
      .values({
        workflow_run_id: run.id,
        workflow_id: workflowId,
        task_id: taskId,
        array_id: task.array_id,
        batch_id: batch.id,
        array_step_id: step,
        task_resources_id: task.task_resources_id,
        status: 'O',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.updateTable('task').set({ status: 'O', num_attempts: 1 }).where('id', '=', taskId).execute();
    out.push(Number(ti.id));
  }
  return out;
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  // Our own pool, closed (and waited for) below: the helper's destroy() can race a FORCE drop
  // against the backends of a pool that is still closing, which pg reports as an uncaught 57P01.
  db = createDb(tdb.url, 5);
  config = loadConfig(
    {
      databaseUrl: tdb.url,
      user: 'alice',
      logDir: path.join(os.tmpdir(), 'jmt-api-test-logs'),
      taskInstanceHeartbeatS: 10,
      reportByBuffer: 3.1,
    },
    {},
  );
});

afterAll(async () => {
  await db?.destroy();
  if (tdb) {
    await waitForNoSessions(tdb.name);
    await tdb.destroy();
  }
});

/** pool.end() resolves once Terminate is sent; wait (bounded) until the server has ended the sessions. */
async function waitForNoSessions(database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(inject('databaseServerUrl')) });
  await admin.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [database],
      );
      if (rows[0].n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await admin.end();
  }
}

describe('service routes', () => {
  it('GET /health pings the database and reports the auth mode', async () => {
    const local = await call(makeApp(localAuth('alice')), 'GET', '/health');
    expect(local.status).toBe(200);
    expect(local.body).toMatchObject({ status: 'ok', database: 'ok', auth: 'local-single-user' });
    // No token needed: load balancers probe it.
    const secured = await call(makeApp({ mode: 'tokens', tokens: parseTokens(TOKENS) }), 'GET', '/health');
    expect(secured.status).toBe(200);
    expect(secured.body.auth).toBe('tokens');
  });

  it('GET /openapi.json describes every route of the contract', async () => {
    const { status, body } = await call(makeApp(localAuth('alice')), 'GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(body.info.title).toMatch(/Jobmon/);
    const expected: [string, string][] = [
      ['post', '/api/v1/bind/drafts'],
      ['post', '/api/v1/bind/drafts/{draft_id}/tasks'],
      ['post', '/api/v1/bind/drafts/{draft_id}/commit'],
      ['post', '/api/v1/bind'],
      ['post', '/api/v1/workflows/{id}/runs'],
      ['post', '/api/v1/workflows/{id}/pause'],
      ['post', '/api/v1/workflows/{id}/unpause'],
      ['post', '/api/v1/workflows/{id}/stop'],
      ['put', '/api/v1/workflows/{id}/concurrency'],
      ['get', '/api/v1/workflows'],
      ['get', '/api/v1/workflows/{id}/status'],
      ['get', '/api/v1/workflows/{id}/tasks'],
      ['get', '/api/v1/tasks/{id}'],
      ['get', '/api/v1/workflows/{id}/errors'],
      ['post', '/api/v1/task-instances/{id}/running'],
      ['post', '/api/v1/task-instances/{id}/heartbeat'],
      ['post', '/api/v1/task-instances/{id}/done'],
      ['post', '/api/v1/task-instances/{id}/error'],
      ['get', '/api/v1/workflows/{id}/grants'],
      ['post', '/api/v1/workflows/{id}/grants'],
      ['delete', '/api/v1/workflows/{id}/grants/{user}'],
      ['get', '/health'],
    ];
    for (const [method, p] of expected) expect(body.paths[p]?.[method], `${method} ${p}`).toBeDefined();
    expect(body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('GET /docs links the document; unknown routes are JSON 404s', async () => {
    const app = makeApp(localAuth('alice'));
    const docs = await app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/openapi.json');
    const missing = await call(app, 'GET', '/api/v1/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });
});

describe('auth', () => {
  const app = () => makeApp({ mode: 'tokens', tokens: parseTokens(TOKENS) });
  let aliceWf: number;

  beforeAll(async () => {
    const bound = await call(app(), 'POST', '/api/v1/bind', {
      body: bindRequest('auth-alice'),
      token: 'alice-token-1',
    });
    expect(bound.status).toBe(200);
    aliceWf = bound.body.workflow_id;
  });

  it('binds as the token user', async () => {
    const row = await db.selectFrom('workflow').select('user').where('id', '=', aliceWf).executeTakeFirstOrThrow();
    expect(row.user).toBe('alice');
  });

  it('401 without a token or with an unknown one', async () => {
    const none = await call(app(), 'GET', '/api/v1/workflows');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 'unauthorized', field: 'authorization' });
    const unknown = await call(app(), 'GET', '/api/v1/workflows', { token: 'not-a-real-token' });
    expect(unknown.status).toBe(401);
    // Wrapper callbacks too.
    expect((await call(app(), 'POST', '/api/v1/task-instances/1/heartbeat')).status).toBe(401);
  });

  it('observers may read but not write', async () => {
    const read = await call(app(), 'GET', `/api/v1/workflows/${aliceWf}/status`, { token: 'watch-token-3' });
    expect(read.status).toBe(200);
    const write = await call(app(), 'POST', '/api/v1/bind', {
      body: bindRequest('auth-watcher'),
      token: 'watch-token-3',
    });
    expect(write.status).toBe(403);
    expect(write.body.error.message).toMatch(/observer/);
    const control = await call(app(), 'POST', `/api/v1/workflows/${aliceWf}/pause`, { token: 'watch-token-3' });
    expect(control.status).toBe(403);
  });

  it("wrapper callbacks take the job's token for its own batch, or an admin's; no other token", async () => {
    const [t1, t2] = [...(await taskIds(aliceWf)).values()];
    const [ti1, ti2] = await launchInstances(aliceWf, [t1, t2]);
    const batchOf = async (ti: number) =>
      Number(
        (await db.selectFrom('task_instance').select('batch_id').where('id', '=', ti).executeTakeFirstOrThrow())
          .batch_id,
      );
    const jobToken = mintJobToken(await serverSecret(db, 'job_token_key'), await batchOf(ti1));
    const heartbeat = (ti: number, token: string) =>
      call(app(), 'POST', `/api/v1/task-instances/${ti}/heartbeat`, { token });

    expect(await heartbeat(ti1, jobToken)).toEqual({ status: 200, body: { status: 'O' } });
    // Another batch's instance: refused, naming why.
    const other = await heartbeat(ti2, jobToken);
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({ code: 'forbidden', field: 'authorization' });
    expect(other.body.error.message).toMatch(/not the batch of task instance/);
    // A job token opens nothing else, not even reads.
    const read = await call(app(), 'GET', `/api/v1/workflows/${aliceWf}/status`, { token: jobToken });
    expect(read.status).toBe(403);
    // A forged or altered job token is unknown.
    const forged = jobToken.slice(0, -2) + (jobToken.endsWith('AA') ? 'BB' : 'AA');
    expect((await heartbeat(ti1, forged)).status).toBe(401);
    // Users' tokens: observers and operators (even the owner) may not report for jobs; admins may.
    expect((await heartbeat(ti1, 'watch-token-3')).status).toBe(403);
    expect((await heartbeat(ti1, 'alice-token-1')).status).toBe(403);
    expect((await heartbeat(ti1, 'admin-token-4')).status).toBe(200);
    // Past auth, an unknown instance is a 404.
    expect((await heartbeat(999999, 'admin-token-4')).status).toBe(404);
  });

  it("operators may not act on another user's workflow; admins may", async () => {
    const bob = await call(app(), 'POST', `/api/v1/workflows/${aliceWf}/pause`, { token: 'bob-token-22' });
    expect(bob.status).toBe(403);
    expect(bob.body.error.code).toBe('not_owner');
    expect(bob.body.error.message).toContain('belongs to user alice');
    // The owner and an admin pass the checks and reach Temporal, which is down here.
    for (const token of ['alice-token-1', 'admin-token-4']) {
      const res = await call(app(), 'POST', `/api/v1/workflows/${aliceWf}/pause`, { token });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('temporal_unavailable');
    }
    // Unknown workflow: 404 before any ownership question.
    expect((await call(app(), 'POST', '/api/v1/workflows/999999/pause', { token: 'bob-token-22' })).status).toBe(404);
  });

  it('rejects malformed JMT_TOKENS at startup', () => {
    expect(() => parseTokens('short:alice:operator')).toThrow(/at least 8/);
    expect(() => parseTokens('long-enough-token:alice:superuser')).toThrow(/role "superuser"/);
    expect(() => parseTokens('long-enough-token:alice')).toThrow(/token:user:role/);
    expect(() => parseTokens(' , ')).toThrow(/no tokens/);
  });

  it('local single-user mode acts as the configured user, as an operator', async () => {
    const local = makeApp(localAuth('alice'));
    // No token needed; alice owns aliceWf so the controls reach (unavailable) Temporal.
    expect((await call(local, 'POST', `/api/v1/workflows/${aliceWf}/stop`, { body: { mode: 'kill' } })).status).toBe(
      503,
    );
    const asCarol = makeApp(localAuth('carol'));
    const res = await call(asCarol, 'PUT', `/api/v1/workflows/${aliceWf}/concurrency`, { body: { limit: 5 } });
    expect(res.status).toBe(403);
  });
});

describe('bad input', () => {
  const app = () => makeApp(localAuth('alice'));
  const bind = (body: unknown) => call(app(), 'POST', '/api/v1/bind', { body });

  it('cycle → 422 naming the upstream that closes it; nothing bound', async () => {
    const before = await db
      .selectFrom('workflow')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const res = await bind(
      bindRequest('bad-cycle', {
        tasks: [
          { key: 'a', template: 'agg', node_args: { year: 1 }, upstream: ['b'] },
          { key: 'b', template: 'agg', node_args: { year: 2 }, upstream: ['a'] },
        ],
      }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('cycle');
    expect(res.body.error.field).toMatch(/^tasks\[\d\]\.upstream\[0\]$/);
    const after = await db
      .selectFrom('workflow')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('unknown upstream key → 422', async () => {
    const res = await bind(
      bindRequest('bad-upstream', {
        tasks: [{ key: 'a', template: 'agg', node_args: { year: 1 }, upstream: ['ghost'] }],
      }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'unknown_upstream', field: 'tasks[0].upstream[0]' });
  });

  it('duplicate node args within a template → 422', async () => {
    const res = await bind(
      bindRequest('bad-dup', {
        tasks: [
          { key: 'a', template: 'agg', node_args: { year: 1 } },
          { key: 'b', template: 'agg', node_args: { year: 1 } },
        ],
      }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'duplicate_node_args', field: 'tasks[1].node_args' });
  });

  it('command template naming an undeclared arg → 422', async () => {
    const req = bindRequest('bad-template');
    req.task_templates[1].command_template = 'python agg.py --year {year} --draws {draws}';
    const res = await bind(req);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'unknown_arg', field: 'task_templates[1].command_template' });
  });

  it('invalid resources → 422 naming the resource', async () => {
    const req = bindRequest('bad-resources', {
      tasks: [
        { key: 'a', template: 'agg', node_args: { year: 1 }, compute_resources: { queue: 'null.q', memory: 'lots' } },
      ],
    });
    const res = await bind(req);
    expect(res.status).toBe(422);
    expect(res.body.error.field).toMatch(/^tasks\[0\]\.compute_resources\.memory$/);
  });

  it('schema violations → 422 naming the field (wrong type, unknown key, missing key)', async () => {
    const wrongType = bindRequest('bad-schema', { tasks: [{ key: 'a', template: 'agg', node_args: { year: true } }] });
    let res = await bind(wrongType);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'invalid', field: 'tasks[0].node_args.year' });

    res = await bind(
      bindRequest('bad-schema', { tasks: [{ key: 'a', template: 'agg', node_args: { year: 1 }, upstreams: [] }] }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error.field).toBe('tasks[0].upstreams');

    const { tool: _tool, ...noTool } = bindRequest('bad-schema');
    res = await bind(noTool);
    expect(res.status).toBe(422);
    expect(res.body.error.field).toBe('tool');

    res = await call(app(), 'GET', '/api/v1/workflows?limit=0');
    expect(res.status).toBe(422);
    expect(res.body.error.field).toBe('limit');
    res = await call(app(), 'GET', '/api/v1/workflows/abc/status');
    expect(res.status).toBe(422);
    expect(res.body.error.field).toBe('id');
    res = await call(app(), 'POST', '/api/v1/task-instances/1/error', {
      body: { exit_code: 1, error_state: 'Q', message: 'x' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.field).toBe('error_state');
  });

  it('malformed JSON → 400; wrong content type → 415; all JSON errors', async () => {
    const res = await call(app(), 'POST', '/api/v1/bind', { raw: '{"tool": ' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'malformed_json', field: 'body' });
    const text = await app().request('/api/v1/bind', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    expect(text.status).toBe(415);
    expect(((await text.json()) as Json).error.code).toBe('unsupported_media_type');
  });

  it('unknown ids → 404', async () => {
    const draft = await call(app(), 'POST', `/api/v1/bind/drafts/${randomUUID()}/commit`);
    expect(draft.status).toBe(404);
    const tasks = await call(app(), 'POST', `/api/v1/bind/drafts/${randomUUID()}/tasks`, { body: { tasks: [] } });
    expect(tasks.status).toBe(404);
    for (const url of [
      '/api/v1/workflows/999999/status',
      '/api/v1/workflows/999999/tasks',
      '/api/v1/workflows/999999/errors',
      '/api/v1/tasks/999999',
    ]) {
      const res = await call(app(), 'GET', url);
      expect(res.status, url).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await call(app(), 'POST', '/api/v1/task-instances/999999/done', { body: { exit_code: 0 } })).status).toBe(
      404,
    );
  });

  it('oversized bodies → 413 (1 MiB outside /bind, 32 MiB on /bind)', async () => {
    const big = JSON.stringify({ exit_code: 0, stdout_tail: 'x'.repeat(1024 * 1024 + 10) });
    let res = await call(app(), 'POST', '/api/v1/task-instances/1/done', { raw: big });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'too_large', field: 'body' });
    // The same size is fine on a bind route (it fails later, on content, not size).
    res = await call(app(), 'POST', '/api/v1/bind/drafts', {
      raw: JSON.stringify({ tool: { name: 'x'.repeat(1024 * 1024 + 10) } }),
    });
    expect(res.status).toBe(422);
    res = await call(app(), 'POST', '/api/v1/bind', { raw: 'x'.repeat(32 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
  });

  it('internal errors are a bare 500 without the stack', async () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const broken = createApp({
      db: {
        selectFrom: () => {
          throw new Error('secret detail');
        },
      } as unknown as Db,
      temporal: temporalDown,
      config,
      auth: localAuth('alice'),
    });
    const res = await call(broken, 'GET', '/api/v1/workflows/1/status');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(String(spy.mock.calls.map((c) => c[0]).join(''))).toContain('secret detail');
  });
});

describe('reads', () => {
  const app = () => makeApp(localAuth('alice'));
  let wf: number;
  let ids: Map<string, number>;

  beforeAll(async () => {
    // Chunked bind: draft, two chunks, commit.
    const { tasks, ...draft } = bindRequest('reads');
    const created = await call(app(), 'POST', '/api/v1/bind/drafts', { body: draft });
    expect(created.status).toBe(201);
    const id = created.body.draft_id as string;
    let res = await call(app(), 'POST', `/api/v1/bind/drafts/${id}/tasks`, { body: { tasks: tasks.slice(0, 3) } });
    expect(res.body).toEqual({ received: 3, total: 3 });
    res = await call(app(), 'POST', `/api/v1/bind/drafts/${id}/tasks`, { body: { tasks: tasks.slice(3) } });
    expect(res.body).toEqual({ received: 2, total: 5 });
    res = await call(app(), 'POST', `/api/v1/bind/drafts/${id}/commit`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ newly_created: true, num_tasks: 5 });
    wf = res.body.workflow_id;
    ids = await taskIds(wf);
    const names = [...ids.keys()];
    // m1, m2 done; m3 running; m4 fatal; agg registering.
    const set = (name: string, status: 'D' | 'R' | 'F') =>
      db.updateTable('task').set({ status }).where('id', '=', ids.get(name)!).execute();
    await set(names[0], 'D');
    await set(names[1], 'D');
    await set(names[2], 'R');
    await set(names[3], 'F');
    // Binding the same workflow again returns it unchanged (Jobmon identity).
    const again = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('reads') });
    expect(again.body).toMatchObject({ workflow_id: wf, newly_created: false });
  });

  it('GET /workflows/:id/status counts per letter, bucket and template', async () => {
    const { status, body } = await call(app(), 'GET', `/api/v1/workflows/${wf}/status`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      workflow_id: wf,
      tool: 'api_test_tool',
      user: 'alice',
      workflow_args: 'reads',
      num_tasks: 5,
      counts: { G: 1, Q: 0, I: 0, O: 0, R: 1, D: 2, E: 0, A: 0, F: 1 },
      buckets: { PENDING: 1, SCHEDULED: 0, RUNNING: 1, DONE: 2, FATAL: 1 },
      percent_done: 40,
      run: null,
    });
    expect(body.status_label).toBeTypeOf('string');
    expect(body.templates).toEqual([
      {
        name: 'agg',
        max_concurrently_running: 2147483647,
        buckets: { PENDING: 1, SCHEDULED: 0, RUNNING: 0, DONE: 0, FATAL: 0 },
      },
      {
        name: 'model',
        max_concurrently_running: 2147483647,
        buckets: { PENDING: 0, SCHEDULED: 0, RUNNING: 1, DONE: 2, FATAL: 1 },
      },
    ]);
  });

  it('GET /workflows filters by user, tool, name, status', async () => {
    let res = await call(app(), 'GET', `/api/v1/workflows?user=alice&tool=api_test_tool&name=READS`);
    expect(res.status).toBe(200);
    expect(res.body.workflows).toHaveLength(1);
    expect(res.body.workflows[0]).toMatchObject({
      id: wf,
      user: 'alice',
      tool: 'api_test_tool',
      num_tasks: 5,
      percent_done: 40,
    });
    res = await call(app(), 'GET', `/api/v1/workflows?user=nobody`);
    expect(res.body.workflows).toEqual([]);
    // `_` is literal in the name filter, not a LIKE wildcard.
    res = await call(app(), 'GET', `/api/v1/workflows?name=r_ads`);
    expect(res.body.workflows).toEqual([]);
    res = await call(app(), 'GET', `/api/v1/workflows?status=D,F`);
    expect(res.body.workflows.map((w: Json) => w.id)).not.toContain(wf);
    res = await call(app(), 'GET', `/api/v1/workflows?status=Z`);
    expect(res.status).toBe(422);
    expect(res.body.error.field).toBe('status');
    res = await call(app(), 'GET', `/api/v1/workflows?limit=1`);
    expect(res.body.workflows).toHaveLength(1);
  });

  it('GET /workflows/:id/tasks filters by status, template, attribute and pages', async () => {
    const url = `/api/v1/workflows/${wf}/tasks`;
    let res = await call(app(), 'GET', `${url}?status=D,F`);
    expect(res.body.total).toBe(3);
    expect(res.body.tasks.map((t: Json) => t.status).sort()).toEqual(['D', 'D', 'F']);
    res = await call(app(), 'GET', `${url}?status=PENDING`);
    expect(res.body.tasks.map((t: Json) => t.template)).toEqual(['agg']);
    res = await call(app(), 'GET', `${url}?template=model&limit=2&offset=1`);
    expect(res.body.total).toBe(4);
    expect(res.body.tasks).toHaveLength(2);
    expect(res.body.tasks[0]).toMatchObject({ template: 'model', max_attempts: 3, num_attempts: 0 });
    res = await call(app(), 'GET', `${url}?attribute=${encodeURIComponent('group=high')}`);
    expect(res.body.total).toBe(2);
    res = await call(app(), 'GET', `${url}?attribute=nogroup`);
    expect(res.status).toBe(422);
    expect(res.body.error.field).toBe('attribute');
    res = await call(app(), 'GET', `${url}?status=X`);
    expect(res.status).toBe(422);
  });
});

describe('wrapper callbacks', () => {
  let wf: number;
  let ids: Map<string, number>;
  let tis: number[];
  const notified: number[] = [];
  const notifier: RunNotifier = { notifyRunChanged: (id) => void notified.push(id), close: () => undefined };
  const app = () => makeApp(localAuth('alice'), notifier);

  beforeAll(async () => {
    const res = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('callbacks') });
    expect(res.status).toBe(200);
    wf = res.body.workflow_id;
    ids = await taskIds(wf);
    const [m1, m2] = [...ids.values()];
    tis = await launchInstances(wf, [m1, m2]);
  });

  it('running → the command to run; a second job for the same instance is refused', async () => {
    const res = await call(app(), 'POST', `/api/v1/task-instances/${tis[0]}/running`, {
      body: { distributor_id: 4242, nodename: 'node-1', process_id: 4242 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      task_instance_id: tis[0],
      task_id: [...ids.values()][0],
      workflow_id: wf,
      command: 'python model.py --loc 1 -v',
      heartbeat_interval_s: 10,
      report_by_s: 31,
    });
    expect(res.body.stdout_path).toContain(config.logDir);
    const other = await call(app(), 'POST', `/api/v1/task-instances/${tis[0]}/running`, {
      body: { distributor_id: '999', nodename: 'node-2', process_id: 1 },
    });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('not_runnable');
  });

  it('heartbeat → current status', async () => {
    const res = await call(app(), 'POST', `/api/v1/task-instances/${tis[0]}/heartbeat`, {
      body: { distributor_id: '4242' },
    });
    expect(res).toEqual({ status: 200, body: { status: 'R' } });
    // No body at all is fine too.
    expect((await call(app(), 'POST', `/api/v1/task-instances/${tis[1]}/heartbeat`)).body).toEqual({ status: 'O' });
  });

  it('heartbeats arriving together are written together; each gets its own status', async () => {
    const one = app(); // one writer, as in a running API
    const before = await db
      .selectFrom('task_instance')
      .select('report_by_date')
      .where('id', '=', tis[0])
      .executeTakeFirstOrThrow();
    const targets = [...Array(25)].flatMap(() => [tis[0], tis[1], 999_999]);
    const answers = await Promise.all(targets.map((ti) => call(one, 'POST', `/api/v1/task-instances/${ti}/heartbeat`)));
    answers.forEach((res, i) => {
      if (targets[i] === 999_999) expect(res.status).toBe(404);
      else expect(res.body).toEqual({ status: targets[i] === tis[0] ? 'R' : 'O' });
    });
    const after = await db
      .selectFrom('task_instance')
      .select('report_by_date')
      .where('id', '=', tis[0])
      .executeTakeFirstOrThrow();
    expect(new Date(after.report_by_date!).getTime()).toBeGreaterThanOrEqual(
      new Date(before.report_by_date!).getTime(),
    );
    // Directly: many ids, one statement, statuses of written and unwritten instances alike.
    const statuses = await writeHeartbeats(db, [tis[0], tis[1], 999_999], 30);
    expect(statuses).toEqual(
      new Map([
        [tis[0], 'R'],
        [tis[1], 'O'],
      ]),
    );
  });

  it('done → D, releases downstream, wakes the run; a duplicate changes nothing', async () => {
    const res = await call(app(), 'POST', `/api/v1/task-instances/${tis[0]}/done`, {
      body: { exit_code: 0, wallclock_s: 1.5, maxrss_bytes: 1024, cpu_s: 1.2, stdout_tail: 'ok', stderr_tail: '' },
    });
    expect(res).toEqual({ status: 200, body: { status: 'D' } });
    expect(notified).toEqual([wf]);
    const agg = await db
      .selectFrom('task')
      .select(['upstream_remaining'])
      .where('id', '=', ids.get([...ids.keys()][4])!)
      .executeTakeFirstOrThrow();
    expect(agg.upstream_remaining).toBe(3);
    const dup = await call(app(), 'POST', `/api/v1/task-instances/${tis[0]}/done`, { body: { exit_code: 0 } });
    expect(dup).toEqual({ status: 200, body: { status: 'D' } });
  });

  it('error → instance E, task retried; visible in /errors and /tasks/:id', async () => {
    const before = notified.length;
    const res = await call(app(), 'POST', `/api/v1/task-instances/${tis[1]}/error`, {
      body: {
        exit_code: 1,
        error_state: 'E',
        message: 'Traceback: boom',
        wallclock_s: 0.5,
        maxrss_bytes: 10,
        cpu_s: 0.1,
        stdout_tail: '',
        stderr_tail: 'boom',
      },
    });
    expect(res).toEqual({ status: 200, body: { status: 'E' } });
    expect(notified.length).toBe(before + 1);

    const errors = await call(app(), 'GET', `/api/v1/workflows/${wf}/errors?limit=5`);
    expect(errors.status).toBe(200);
    expect(errors.body.errors).toHaveLength(1);
    expect(errors.body.errors[0]).toMatchObject({
      task_instance_id: tis[1],
      task_id: [...ids.values()][1],
      description: 'Traceback: boom',
    });

    const task = await call(app(), 'GET', `/api/v1/tasks/${[...ids.values()][1]}`);
    expect(task.status).toBe(200);
    expect(task.body.task).toMatchObject({
      workflow_id: wf,
      template: 'model',
      status: 'G',
      node_args: { location_id: '2' },
      attributes: { group: 'low' },
    });
    expect(task.body.instances).toHaveLength(1);
    expect(task.body.instances[0]).toMatchObject({
      id: tis[1],
      status: 'E',
      exit_code: 1,
      maxrss_bytes: 10,
      errors: [{ description: 'Traceback: boom' }],
    });

    const done = await call(app(), 'GET', `/api/v1/tasks/${[...ids.values()][0]}`);
    expect(done.body.instances[0]).toMatchObject({
      status: 'D',
      distributor_id: '4242',
      nodename: 'node-1',
      wallclock_s: 1.5,
      errors: [],
    });
  });
});

describe('real server', () => {
  it('serves on loopback, enforces Content-Length limits, and closes', async () => {
    const server = await startApiServer({
      db,
      temporal: temporalDown,
      config,
      auth: localAuth('alice'),
      host: '127.0.0.1',
      port: 0,
    });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      const big = await fetch(`${server.url}/api/v1/workflows/1/stop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'x'.repeat(2 * 1024 * 1024) }),
      });
      expect(big.status).toBe(413);
      expect(((await big.json()) as Json).error.code).toBe('too_large');
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});

describe('lazy Temporal connection', () => {
  it('reports temporal_unavailable for an unreachable address and connects to a live one', async () => {
    const port = await freePort();
    const dead = lazyTemporalClient(
      { temporalAddress: `127.0.0.1:${port}`, temporalNamespace: 'default' },
      { connectTimeoutMs: 500 },
    );
    const err = await dead.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobmonError);
    expect((err as JobmonError).toJSON().error.code).toBe('temporal_unavailable');
    expect((err as JobmonError).httpStatus).toBe(503);
    await dead.close();

    const live = lazyTemporalClient({ temporalAddress: temporalAddress(), temporalNamespace: temporalNamespace() });
    try {
      const client = await live.get();
      // One connection shared by every later request.
      expect(await live.get()).toBe(client);
    } finally {
      await live.close();
    }
  });
});

describe('runs and controls against the real Temporal server (no worker on the task queue)', () => {
  let temporal: TemporalConnections;
  let runConfig: Config;
  let wf: number;
  const app = () => createApp({ db, temporal: temporal.client, config: runConfig, auth: localAuth('alice') });

  beforeAll(async () => {
    temporal = await connectTemporal();
    // A task queue no worker polls: the run starts and waits, which is all these routes need.
    runConfig = { ...config, taskQueue: `jmt-api-test-${randomUUID()}`, temporalNamespace: temporalNamespace() };
    const res = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('runs') });
    expect(res.status).toBe(200);
    wf = res.body.workflow_id;
  });

  afterAll(async () => {
    if (!temporal) return;
    try {
      await temporal.client.workflow.getHandle(`jobmon-workflow-${wf}`).terminate('api test done');
    } catch {
      // Never started (a failed test): nothing to clean up.
    }
    await temporal.close();
  });

  it('concurrency without an active run is stored for the next run', async () => {
    const res = await call(app(), 'PUT', `/api/v1/workflows/${wf}/concurrency`, {
      body: { limit: 7, template: 'model' },
    });
    expect(res.status).toBe(200);
    expect(res.body.templates.model).toBe(7);
    const bad = await call(app(), 'PUT', `/api/v1/workflows/${wf}/concurrency`, {
      body: { limit: 1, template: 'ghost' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.field).toBe('template');
    // No run yet: controls are a conflict, not a crash.
    const pause = await call(app(), 'POST', `/api/v1/workflows/${wf}/pause`);
    expect(pause.status).toBe(409);
  });

  it('POST /workflows/:id/runs → 201 with Temporal ids; a second start → 409 run_active; status shows the run', async () => {
    const res = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, {
      body: { resume_mode: 'cold', fail_fast: false },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ temporal_workflow_id: `jobmon-workflow-${wf}` });
    expect(res.body.workflow_run_id).toBeTypeOf('number');
    expect(res.body.temporal_run_id).toBeTypeOf('string');
    expect(res.body.temporal_ui_url).toContain(encodeURIComponent(`jobmon-workflow-${wf}`));

    const again = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('run_active');

    const status = await call(app(), 'GET', `/api/v1/workflows/${wf}/status`);
    expect(status.body.run).toMatchObject({
      id: res.body.workflow_run_id,
      temporal_workflow_id: `jobmon-workflow-${wf}`,
      temporal_run_id: res.body.temporal_run_id,
    });
    expect(status.body.run.temporal_ui_url).toBe(res.body.temporal_ui_url);

    // Signals are accepted by Temporal even with no worker running the workflow yet.
    expect((await call(app(), 'POST', `/api/v1/workflows/${wf}/pause`)).body).toEqual({
      workflow_id: wf,
      action: 'pause',
    });
    expect((await call(app(), 'POST', `/api/v1/workflows/${wf}/unpause`)).status).toBe(200);
  });
});

describe('a run another API process is starting', () => {
  let temporal: TemporalConnections;
  let runConfig: Config;
  let wf: number;
  const app = () => createApp({ db, temporal: temporal.client, config: runConfig, auth: localAuth('alice') });
  const runStatus = async (id: number) =>
    (await db.selectFrom('workflow_run').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  beforeAll(async () => {
    temporal = await connectTemporal();
    runConfig = {
      ...config,
      taskQueue: `jmt-api-test-${randomUUID()}`,
      temporalNamespace: temporalNamespace(),
      workflowIdPrefix: `jmt-starting-${randomUUID().slice(0, 8)}`,
    };
    const res = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('starting') });
    expect(res.status).toBe(200);
    wf = res.body.workflow_id;
  });

  afterAll(async () => {
    try {
      await temporal.client.workflow.getHandle(`${runConfig.workflowIdPrefix}-workflow-${wf}`).terminate('test done');
    } catch {
      // Never started (a failed test).
    }
    await temporal.close();
  });

  it('is left alone while young (409 run_active), closed once abandoned, and a terminated execution frees the workflow', async () => {
    // The other process has created its run row and not yet started (or recorded) the execution.
    const starting = await createRun(db, wf, {
      user: 'alice',
      resumeMode: 'cold',
      temporalWorkflowId: `${runConfig.workflowIdPrefix}-workflow-${wf}`,
    });
    const refused = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('run_active');
    expect(refused.body.error.message).toMatch(/being started by another request/);
    expect(await runStatus(starting)).toBe('B');

    // Its starter died between the two steps: past the grace period the run is closed as ERROR.
    await sql`update workflow_run set created_date = now() - make_interval(secs => ${RUN_START_GRACE_S + 5}) where id = ${starting}`.execute(
      db,
    );
    const started = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: {} });
    expect(started.status).toBe(201);
    expect(await runStatus(starting)).toBe('E');

    // An execution terminated from the Temporal UI leaves its run active in Postgres: closed too.
    await temporal.client.workflow.getHandle(started.body.temporal_workflow_id).terminate('from the UI');
    const again = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: {} });
    expect(again.status).toBe(201);
    expect(await runStatus(started.body.workflow_run_id)).toBe('E');
  });

  it('a start right after the last run recorded its end waits for that run’s execution to close', async () => {
    // The run the test above started (no worker: its execution stays open) records its end, as its
    // last activity does before the execution closes.
    const last = await db
      .selectFrom('workflow_run')
      .select(['id', 'temporal_workflow_id'])
      .where('workflow_id', '=', wf)
      .where('status', 'in', ['B', 'R'])
      .executeTakeFirstOrThrow();
    await db.updateTable('workflow_run').set({ status: 'E' }).where('id', '=', last.id).execute();
    const resumed = call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: {} });
    // The new run's row exists before its execution is started; then the old execution closes.
    await waitFor(
      async () =>
        (await db
          .selectFrom('workflow_run')
          .select('id')
          .where('workflow_id', '=', wf)
          .where('id', '>', last.id)
          .executeTakeFirst()) !== undefined,
      { timeoutMs: 10_000, intervalMs: 20, what: 'the new run row' },
    );
    await temporal.client.workflow.getHandle(last.temporal_workflow_id).terminate('closing');
    const res = await resumed;
    expect(res.status).toBe(201);
    expect(await runStatus(res.body.workflow_run_id)).toBe('B');
  });
});
