/**
 * Runs and controls against the real Temporal server with no worker on the task queue, and a run
 * another API process is starting.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config } from '../../src/config';
import { createApp } from '../../src/api/app';
import { localAuth } from '../../src/api/auth';
import { createRun } from '../../src/sql/runs';
import { Client } from '@temporalio/client';
import { tableCounts } from '../helpers/token-app';
import { RUN_START_GRACE_S } from '../../src/control/runs';
import { temporalWorkflowId } from '../../src/temporal/ids';
import { waitFor } from '../helpers/wait';
import { connectTemporal, temporalNamespace, type TemporalConnections } from '../helpers/temporal';
import { bindRequest, call, config, db, setupApiTest } from './harness';

setupApiTest();

describe('runs and controls against the real Temporal server (no worker on the task queue)', () => {
  let temporal: TemporalConnections;
  let runConfig: Config;
  let wf: number;
  const app = () => createApp({ db, temporal: temporal.client, config: runConfig, auth: localAuth('alice') });

  beforeAll(async () => {
    temporal = await connectTemporal();
    // A task queue no worker polls: the run starts and waits, which is all these routes need.
    runConfig = {
      ...config,
      taskQueue: `jmt-api-test-${randomUUID()}`,
      temporalNamespace: temporalNamespace(),
      // Other test files' databases also number their workflows from 1: ids stay apart by prefix.
      workflowIdPrefix: `jmt-api-runs-${randomUUID().slice(0, 8)}`,
    };
    const res = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('runs') });
    expect(res.status).toBe(200);
    wf = res.body.workflow_id;
  });

  afterAll(async () => {
    if (!temporal) return;
    try {
      await temporal.client.workflow.getHandle(temporalWorkflowId(runConfig, wf)).terminate('api test done');
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
    expect(res.body).toMatchObject({ temporal_workflow_id: temporalWorkflowId(runConfig, wf) });
    expect(res.body.workflow_run_id).toBeTypeOf('number');
    expect(res.body.temporal_run_id).toBeTypeOf('string');
    expect(res.body.temporal_ui_url).toContain(encodeURIComponent(temporalWorkflowId(runConfig, wf)));

    const again = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('run_active');

    const status = await call(app(), 'GET', `/api/v1/workflows/${wf}/status`);
    expect(status.body.run).toMatchObject({
      id: res.body.workflow_run_id,
      temporal_workflow_id: temporalWorkflowId(runConfig, wf),
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
  const runAfter = async (id: number) =>
    (await db
      .selectFrom('workflow_run')
      .select('id')
      .where('workflow_id', '=', wf)
      .where('id', '>', id)
      .executeTakeFirst()) !== undefined;
  /** Whether another transaction holds the workflow's row lock (a start in progress). */
  const workflowLocked = async (id: number) =>
    db
      .transaction()
      .execute(async (tx) => {
        await tx.selectFrom('workflow').select('id').where('id', '=', id).forUpdate().noWait().execute();
        return false;
      })
      .catch((err: { code?: string }) => {
        if (err.code === '55P03') return true; // lock_not_available
        throw err;
      });

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
    // The start holds the workflow's lock (its run row uncommitted) while it waits for the old
    // execution to close; then the old execution closes.
    await waitFor(async () => (await workflowLocked(wf)) && !(await runAfter(last.id)), {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: 'the start waiting, its run not yet visible',
    });
    await temporal.client.workflow.getHandle(last.temporal_workflow_id).terminate('closing');
    const res = await resumed;
    expect(res.status).toBe(201);
    expect(await runStatus(res.body.workflow_run_id)).toBe('B');
  });
});

describe('a start Temporal refuses', () => {
  let temporal: TemporalConnections;
  let refusing: Config;
  // A namespace Temporal does not know: the connection works, the start itself is refused.
  const app = () =>
    createApp({
      db,
      temporal: new Client({ connection: temporal.connection, namespace: `jmt-missing-${randomUUID()}` }),
      config: refusing,
      auth: localAuth('alice'),
    });
  /** Every table's row count, and what a start or resume would change: runs, statuses, attempts. */
  const snapshot = async (wf: number) => ({
    counts: await tableCounts(db),
    runs: await db.selectFrom('workflow_run').select(['id', 'status']).where('workflow_id', '=', wf).execute(),
    workflow: await db.selectFrom('workflow').select('status').where('id', '=', wf).executeTakeFirstOrThrow(),
    tasks: await db
      .selectFrom('task')
      .select(['id', 'status', 'num_attempts', 'task_resources_id'])
      .where('workflow_id', '=', wf)
      .orderBy('id')
      .execute(),
    instances: await db.selectFrom('task_instance').select(['id', 'status']).where('workflow_id', '=', wf).execute(),
  });

  beforeAll(async () => {
    temporal = await connectTemporal();
    refusing = { ...config, workflowIdPrefix: `jmt-refused-${randomUUID().slice(0, 8)}` };
  });
  afterAll(async () => temporal?.close());

  it('a first start writes nothing: no run row, the workflow as it was, no audit row', async () => {
    const bound = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('refused-start') });
    const wf = bound.body.workflow_id as number;
    const before = await snapshot(wf);
    const res = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: {} });
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(await snapshot(wf)).toEqual(before);
    expect(before.runs).toEqual([]);
  });

  it('a resume writes nothing either: failed tasks, killed-to-be instances and the last run stay as they were', async () => {
    const bound = await call(app(), 'POST', '/api/v1/bind', { body: bindRequest('refused-resume') });
    const wf = bound.body.workflow_id as number;
    // An earlier run that failed: its tasks F after one attempt, the workflow F.
    const last = await createRun(db, wf, { user: 'alice', resumeMode: 'cold', temporalWorkflowId: 'refused-earlier' });
    await db
      .updateTable('workflow_run')
      .set({ status: 'E', temporal_run_id: 'earlier' })
      .where('id', '=', last)
      .execute();
    await db.updateTable('task').set({ status: 'F', num_attempts: 1 }).where('workflow_id', '=', wf).execute();
    await db.updateTable('workflow').set({ status: 'F' }).where('id', '=', wf).execute();
    const before = await snapshot(wf);
    const res = await call(app(), 'POST', `/api/v1/workflows/${wf}/runs`, { body: { resume_mode: 'cold' } });
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(await snapshot(wf)).toEqual(before);
  });
});
