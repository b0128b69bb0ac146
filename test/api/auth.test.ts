/**
 * Auth of the API with JMT_TOKENS: who may bind, read and act on which workflow.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { localAuth, parseTokens } from '../../src/api/auth';
import { mintJobToken } from '../../src/domain/job-tokens';
import { serverSecret } from '../../src/sql/server-secrets';
import { bindRequest, call, db, launchInstances, makeApp, setupApiTest, taskIds, TOKENS } from './harness';

setupApiTest();

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
      call(app(), 'POST', `/api/v1/task-instances/${ti}/heartbeat`, { token, body: { distributor_id: '1' } });

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

  it("the batch report route takes a job's token and answers another batch's items 403, one by one", async () => {
    const bound = await call(app(), 'POST', '/api/v1/bind', {
      body: bindRequest('auth-batch'),
      token: 'alice-token-1',
    });
    const wf = bound.body.workflow_id;
    const [t3, t4] = [...(await taskIds(wf)).values()];
    const [ti3, ti4] = await launchInstances(wf, [t3, t4]);
    const batch3 = Number(
      (await db.selectFrom('task_instance').select('batch_id').where('id', '=', ti3).executeTakeFirstOrThrow())
        .batch_id,
    );
    const jobToken = mintJobToken(await serverSecret(db, 'job_token_key'), batch3);
    const running = (id: number) => ({
      task_instance_id: id,
      kind: 'running',
      distributor_id: 'j1',
      nodename: 'n',
      process_id: 1,
    });
    const res = await call(app(), 'POST', '/api/v1/task-instances/reports', {
      token: jobToken,
      body: { reports: [running(ti3), running(ti4)] },
    });
    expect(res.status).toBe(200);
    expect(res.body.results[0].status).toBe(200);
    expect(res.body.results[0].body.task_instance_id).toBe(ti3);
    expect(res.body.results[1].status).toBe(403);
    expect(res.body.results[1].body.error).toMatchObject({ code: 'forbidden', field: 'authorization' });
    const untouched = await db
      .selectFrom('task_instance')
      .select('status')
      .where('id', '=', ti4)
      .executeTakeFirstOrThrow();
    expect(untouched.status).toBe('O');
    // Users' tokens other than an admin's may not report for jobs in a batch either.
    const body = { reports: [running(ti4)] };
    expect((await call(app(), 'POST', '/api/v1/task-instances/reports', { token: 'alice-token-1', body })).status).toBe(
      403,
    );
    const admin = await call(app(), 'POST', '/api/v1/task-instances/reports', { token: 'admin-token-4', body });
    expect(admin.body.results[0].status).toBe(200);
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
