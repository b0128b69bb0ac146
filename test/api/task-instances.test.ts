/**
 * The worker-node wrapper callbacks (/task-instances/{id}/running|heartbeat|done|error).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { localAuth } from '../../src/api/auth';
import type { RunNotifier } from '../../src/control/run-notifier';
import { writeHeartbeats } from '../../src/sql/heartbeat-batch';
import { createApp } from '../../src/api/app';
import { createDb } from '../../src/sql/db';
import {
  bindRequest,
  call,
  config,
  db,
  launchInstances,
  makeApp,
  setupApiTest,
  taskIds,
  temporalDown,
} from './harness';

setupApiTest();

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

  it('pages /errors newest first by keyset: every error once, the cursor null on the last page', async () => {
    await db
      .insertInto('task_instance_error_log')
      .values([1, 2, 3, 4].map((n) => ({ task_instance_id: tis[1], description: `later ${n}` })))
      .execute();
    const seen: string[] = [];
    let before: number | null | undefined;
    for (let pages = 0; before !== null; pages++) {
      expect(pages).toBeLessThan(5);
      const q = before === undefined ? 'limit=2' : `limit=2&before=${before}`;
      const page = await call(app(), 'GET', `/api/v1/workflows/${wf}/errors?${q}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.errors.map((e: { description: string }) => e.description));
      before = page.body.next_cursor;
    }
    expect(seen).toEqual(['later 4', 'later 3', 'later 2', 'later 1', 'Traceback: boom']);
    const bad = await call(app(), 'GET', `/api/v1/workflows/${wf}/errors?before=0x5`);
    expect(bad.status).toBe(422);
  });
});

describe('batched reports (/task-instances/reports)', () => {
  const app = () => makeApp(localAuth('alice'));

  it('applies many reports in one request, each answered as its single route would answer it', async () => {
    const bound = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('batch-reports') });
    expect(bound.status).toBe(200);
    const wf = bound.body.workflow_id;
    const tasks = [...(await taskIds(wf)).values()];
    const [a, b, c] = await launchInstances(wf, tasks.slice(0, 3));
    const running = (id: number, job = `job-${id}`) => ({
      task_instance_id: id,
      kind: 'running',
      distributor_id: job,
      nodename: 'node-b',
      process_id: 7,
    });
    const first = await call(app(), 'POST', '/api/v1/task-instances/reports', {
      body: { reports: [running(a), running(b), running(c), running(999_999)] },
    });
    expect(first.status).toBe(200);
    const r = first.body.results;
    expect(r.map((x: { status: number }) => x.status)).toEqual([200, 200, 200, 404]);
    expect(r[1].body).toMatchObject({ task_instance_id: b, workflow_id: wf, heartbeat_interval_s: 10 });
    expect(r[1].body.stdout_path).toContain(config.logDir);

    // Mixed: a done, an error, a repeated running (same answer), another job's running (409), an
    // invalid item (422 naming its field) — the valid ones apply, the others change nothing.
    const second = await call(app(), 'POST', '/api/v1/task-instances/reports', {
      body: {
        reports: [
          { task_instance_id: a, kind: 'done', exit_code: 0, wallclock_s: 0.1, stdout_tail: 'ok' },
          { task_instance_id: b, kind: 'error', exit_code: 3, error_state: 'E', message: 'boom' },
          running(c),
          running(c, 'someone-else'),
          { task_instance_id: c, kind: 'done', exit_code: 5 },
        ],
      },
    });
    expect(second.status).toBe(200);
    const s = second.body.results;
    expect(s[0]).toEqual({ status: 200, body: { status: 'D' } });
    expect(s[1]).toEqual({ status: 200, body: { status: 'E' } });
    expect(s[2].status).toBe(200);
    expect(s[2].body.stdout_path).toBe(r[2].body.stdout_path);
    expect(s[3].status).toBe(409);
    expect(s[3].body.error.code).toBe('not_runnable');
    expect(s[4].status).toBe(422);
    expect(s[4].body.error.field).toBe('reports[4].exit_code');
    const rows = await db
      .selectFrom('task_instance')
      .innerJoin('task', 'task.id', 'task_instance.task_id')
      .select(['task_instance.id', 'task_instance.status as ti', 'task.status as task', 'task_instance.exit_code'])
      .where('task_instance.id', 'in', [a, b, c])
      .orderBy('task_instance.id')
      .execute();
    expect(rows.map((x) => [x.ti, x.task, x.exit_code])).toEqual([
      ['D', 'D', 0],
      ['E', 'G', 3],
      ['R', 'R', null],
    ]);
    const errors = await db
      .selectFrom('task_instance_error_log')
      .select('description')
      .where('task_instance_id', '=', b)
      .execute();
    expect(errors.map((e) => e.description)).toEqual(['boom']);
    // A duplicate final report is answered with the status and changes nothing.
    const dup = await call(app(), 'POST', '/api/v1/task-instances/reports', {
      body: { reports: [{ task_instance_id: a, kind: 'error', exit_code: 1, error_state: 'E', message: 'late' }] },
    });
    expect(dup.body.results).toEqual([{ status: 200, body: { status: 'D' } }]);
  });

  it('refuses a malformed or oversized batch as a whole, naming the field', async () => {
    const empty = await call(app(), 'POST', '/api/v1/task-instances/reports', { body: { reports: [] } });
    expect(empty.status).toBe(422);
    expect(empty.body.error.field).toBe('reports');
    const kind = await call(app(), 'POST', '/api/v1/task-instances/reports', {
      body: { reports: [{ task_instance_id: 1, kind: 'heartbeat' }] },
    });
    expect(kind.status).toBe(422);
    expect(kind.body.error.field).toBe('reports[0].kind');
  });
});

describe('callback pool', () => {
  it('callbacks use the reserved pool: a heartbeat is answered while the main pool cannot connect', async () => {
    const bound = await call(makeApp(localAuth('alice')), 'POST', '/api/v1/bind', { body: bindRequest('cb-pool') });
    expect(bound.status).toBe(200);
    const [ti] = await launchInstances(bound.body.workflow_id, [
      [...(await taskIds(bound.body.workflow_id)).values()][0],
    ]);
    // Port 1 refuses: every query on the main pool fails, so a 200 proves the callback used callbackDb.
    const unreachable = createDb('postgres://jmt:jmt@127.0.0.1:1/none', 1);
    try {
      const app = createApp({
        db: unreachable,
        callbackDb: db,
        temporal: temporalDown,
        config,
        auth: localAuth('alice'),
      });
      const beat = await call(app, 'POST', `/api/v1/task-instances/${ti}/heartbeat`);
      expect(beat.status).toBe(200);
      const read = await call(app, 'GET', `/api/v1/workflows/${bound.body.workflow_id}`);
      expect(read.status).not.toBe(200); // everything else still uses the main pool
    } finally {
      await unreachable.destroy();
    }
  });
});
