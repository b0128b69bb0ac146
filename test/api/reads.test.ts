/**
 * The read routes (workflow list, status, tasks, task details, errors) over a chunked bind.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { localAuth } from '../../src/api/auth';
import { bindRequest, call, db, makeApp, setupApiTest, taskIds, type Json } from './harness';

setupApiTest();

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
    res = await call(app(), 'GET', `${url}?template=nosuch`);
    expect(res.body).toMatchObject({ tasks: [], total: 0, next_cursor: null });
    res = await call(app(), 'GET', `/api/v1/workflows/999999/tasks`);
    expect(res.status).toBe(404);
  });

  it('GET /workflows/:id/tasks pages by cursor: the same tasks as offsets, the same total on every page', async () => {
    const url = `/api/v1/workflows/${wf}/tasks`;
    for (const filter of ['', '&template=model', '&status=G,D']) {
      const all = await call(app(), 'GET', `${url}?limit=1000${filter}`);
      const seen: number[] = [];
      let after: number | null | undefined;
      do {
        const res = await call(app(), 'GET', `${url}?limit=2${filter}${after ? `&after=${after}` : ''}`);
        expect(res.status).toBe(200);
        expect(res.body.total).toBe(all.body.total);
        seen.push(...res.body.tasks.map((t: Json) => t.id));
        after = res.body.next_cursor;
      } while (after);
      expect(seen).toEqual(all.body.tasks.map((t: Json) => t.id));
    }
  });
});
