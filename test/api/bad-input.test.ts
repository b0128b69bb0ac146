/**
 * Bad input on every kind of route: a 4xx naming the field, never a 5xx, and nothing written.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/api/app';
import { localAuth } from '../../src/api/auth';
import type { Db } from '../../src/sql/db';
import { bindRequest, call, config, db, makeApp, setupApiTest, temporalDown, type Json } from './harness';

setupApiTest();

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

  it('commit?task_ids= takes true or false: another value → 422 naming it, the draft kept; false answers without the map', async () => {
    const { tasks, ...spec } = bindRequest('commit-task-ids');
    const draft = await call(app(), 'POST', '/api/v1/bind/drafts', { body: spec });
    const path = `/api/v1/bind/drafts/${draft.body.draft_id}`;
    expect((await call(app(), 'POST', `${path}/tasks`, { body: { tasks } })).status).toBe(200);
    const refused = await call(app(), 'POST', `${path}/commit?task_ids=maybe`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.field).toBe('task_ids');
    const bound = await call(app(), 'POST', `${path}/commit?task_ids=false`);
    expect(bound.status).toBe(200);
    expect(bound.body).toMatchObject({ newly_created: true, num_tasks: tasks.length });
    expect(bound.body).not.toHaveProperty('task_ids');
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
