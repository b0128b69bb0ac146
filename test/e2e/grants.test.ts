/**
 * Operator grants (issue 5: "operators act on workflows they own or were granted") on the real
 * stack with JMT_TOKENS-style auth: a non-owner operator is refused, granted, acts, is revoked and
 * refused again; a granted observer stays read-only; only the owner or an admin grants; refusals
 * change nothing; everything that passed the auth check is in the audit log. Through HTTP
 * (createApp with parseTokens, as the roles test in operator.test.ts) and through `jmt` against an
 * API server started with tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app';
import { parseTokens } from '../../src/api/auth';
import { startApiServer, type ApiServer } from '../../src/api/main';
import { runCli } from '../../src/cli/main';
import { startTestStack, type TestStack } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { lastRun } from './helpers';

const TOKENS =
  'alice-token-1:alice:operator,bob-token-22:bob:operator,watch-token-3:watcher:observer,admin-token-4:root:admin';
const ALICE = 'alice-token-1';
const BOB = 'bob-token-22';
const WATCHER = 'watch-token-3';
const ADMIN = 'admin-token-4';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

type Call = (
  method: string,
  route: string,
  token: string,
  body?: unknown,
) => Promise<{ status: number; body: Record<string, any> }>;

function tokenApp(): Call {
  const app = createApp({
    db: stack.database.db,
    temporal: stack.temporal.client,
    config: stack.config,
    auth: { mode: 'tokens', tokens: parseTokens(TOKENS) },
  });
  return async (method, route, token, body) => {
    const res = await app.request(`/api/v1${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}

/** A workflow of alice's, on the dummy cluster with limit 0 so a run stays active while controls are tried. */
async function bindAlices(call: Call, args: string): Promise<number> {
  const bound = await call('POST', '/bind', ALICE, {
    tool: { name: 'op-grants' },
    workflow: {
      workflow_args: args,
      max_concurrently_running: 0,
      default_cluster_name: 'dummy',
      default_compute_resources: { queue: 'null.q' },
    },
    task_templates: [{ name: 'noop', command_template: 'noop {i}', node_args: ['i'] }],
    tasks: [1, 2].map((i) => ({ key: `t${i}`, template: 'noop', node_args: { i } })),
  });
  expect(bound.status, JSON.stringify(bound.body)).toBe(200);
  return bound.body.workflow_id as number;
}

async function workflowLimit(workflowId: number): Promise<number> {
  return (
    await stack.database.db
      .selectFrom('workflow')
      .select('max_concurrently_running')
      .where('id', '=', workflowId)
      .executeTakeFirstOrThrow()
  ).max_concurrently_running;
}
async function grantRows(workflowId: number): Promise<string[]> {
  const rows = await stack.database.db
    .selectFrom('workflow_grant')
    .select(['user', 'granted_by'])
    .where('workflow_id', '=', workflowId)
    .orderBy('user')
    .execute();
  return rows.map((r) => `${r.user}<-${r.granted_by}`);
}
async function eventLog(workflowId: number): Promise<string[]> {
  const rows = await stack.database.db
    .selectFrom('workflow_event')
    .select(['user', 'action', 'result', 'details'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id')
    .execute();
  return rows.map((r) => `${r.user}:${r.action}${r.details.user ? `(${String(r.details.user)})` : ''}:${r.result}`);
}

describe('grants through HTTP', () => {
  it('bob is refused, granted, acts, revoked and refused again; a granted observer stays read-only; refusals change nothing', async () => {
    const call = tokenApp();
    const id = await bindAlices(call, 'grants-http');
    expect((await call('POST', `/workflows/${id}/runs`, ALICE, {})).status).toBe(201);
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'R', {
      timeoutMs: 30_000,
      what: 'the run to start',
    });
    const run = (await lastRun(stack.database.db, id))!;

    // Nobody granted yet: bob's controls and bob granting himself are refused by the owner check.
    expect((await call('GET', `/workflows/${id}/grants`, WATCHER)).body).toEqual({ owner: 'alice', grants: [] });
    const bobRefused = async () => {
      for (const [method, route, body] of [
        ['PUT', `/workflows/${id}/concurrency`, { limit: 5 }],
        ['POST', `/workflows/${id}/stop`, { mode: 'drain' }],
      ] as const) {
        const r = await call(method, route, BOB, body);
        expect(r.status, `bob ${method} ${route}`).toBe(403);
        expect(r.body.error.code).toBe('not_owner');
        expect(r.body.error.message).toContain(`jmt workflow grant ${id} bob`);
      }
    };
    await bobRefused();
    expect((await call('POST', `/workflows/${id}/grants`, BOB, { user: 'bob' })).body.error.code).toBe('not_owner');
    expect((await call('POST', `/workflows/${id}/grants`, WATCHER, { user: 'watcher' })).status).toBe(403);
    expect((await call('GET', `/workflows/${id}/status`, BOB)).body.may_operate).toBe(false);

    // Bad names are 422 naming `user`, before anything is written.
    for (const user of ['', 'bo\nb', 'b\u0007ob', ' bob', 'x'.repeat(256), 42]) {
      const r = await call('POST', `/workflows/${id}/grants`, ALICE, { user });
      expect(r.status, JSON.stringify(user)).toBe(422);
      expect(r.body.error.field).toBe('user');
    }
    expect((await call('POST', `/workflows/${id}/grants`, ALICE, {})).body.error.field).toBe('user');
    const badPath = await call('DELETE', `/workflows/${id}/grants/bo%0Ab`, ALICE);
    expect(badPath.status).toBe(422);
    expect(badPath.body.error.field).toBe('user');
    // The owner needs no grant: refused after the auth check, so it is in the log.
    const self = await call('POST', `/workflows/${id}/grants`, ALICE, { user: 'alice' });
    expect(self.status).toBe(422);
    expect(self.body.error).toMatchObject({ field: 'user', code: 'owner' });
    expect((await call('POST', '/workflows/999999/grants', ALICE, { user: 'bob' })).status).toBe(404);

    // Every refusal so far changed nothing: run still active, limit as bound, no grants.
    expect(await lastRun(stack.database.db, id)).toEqual(run);
    expect(await workflowLimit(id)).toBe(0);
    expect(await grantRows(id)).toEqual([]);
    // A refused grant writes nothing (it is in the structured log instead).
    expect(await eventLog(id)).toEqual(['alice:start:ok']);

    // alice grants bob (twice: the second changes nothing) and the observer.
    const granted = await call('POST', `/workflows/${id}/grants`, ALICE, { user: 'bob' });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({ workflow_id: id, user: 'bob', granted_by: 'alice', created: true });
    const again = await call('POST', `/workflows/${id}/grants`, ALICE, { user: 'bob' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ user: 'bob', granted_by: 'alice', created: false });
    expect((await call('POST', `/workflows/${id}/grants`, ADMIN, { user: 'watcher' })).status).toBe(201);
    const listed = await call('GET', `/workflows/${id}/grants`, WATCHER);
    expect(listed.status).toBe(200);
    expect(listed.body.owner).toBe('alice');
    expect(
      (listed.body.grants as { user: string; granted_by: string }[]).map((g) => `${g.user}<-${g.granted_by}`).sort(),
    ).toEqual(['bob<-alice', 'watcher<-root']);

    // The granted observer is still read-only, and the status says so; bob's status says he may act.
    for (const [method, route, body] of [
      ['PUT', `/workflows/${id}/concurrency`, { limit: 5 }],
      ['POST', `/workflows/${id}/stop`, { mode: 'kill' }],
    ] as const) {
      const r = await call(method, route, WATCHER, body);
      expect(r.status).toBe(403);
      expect(r.body.error.message).toMatch(/observer/);
    }
    expect((await call('GET', `/workflows/${id}/status`, WATCHER)).body.may_operate).toBe(false);
    expect((await call('GET', `/workflows/${id}/status`, BOB)).body.may_operate).toBe(true);
    expect((await call('GET', `/workflows/${id}/status`, ALICE)).body.may_operate).toBe(true);

    // A grantee acts (pause first: dummy tasks finish at once, and the run must stay active for the
    // stop) but cannot pass the workflow on or withdraw others' grants.
    expect((await call('POST', `/workflows/${id}/pause`, BOB)).status).toBe(200);
    const limits = await call('PUT', `/workflows/${id}/concurrency`, BOB, { limit: 3 });
    expect(limits.status, JSON.stringify(limits.body)).toBe(200);
    expect(limits.body.workflow).toBe(3);
    expect(await workflowLimit(id)).toBe(3);
    const passOn = await call('POST', `/workflows/${id}/grants`, BOB, { user: 'carol' });
    expect(passOn.status).toBe(403);
    expect(passOn.body.error.message).toMatch(/only the owner or an admin/);
    expect((await call('DELETE', `/workflows/${id}/grants/watcher`, BOB)).status).toBe(403);
    expect((await call('POST', `/workflows/${id}/stop`, BOB, { mode: 'drain' })).status).toBe(200);
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'S', {
      timeoutMs: 30_000,
      what: 'the run to stop',
    });
    expect(
      await stack.database.db.selectFrom('task_instance').select('id').where('workflow_id', '=', id).execute(),
    ).toEqual([]);

    // Without a run the limit is stored for the next one: 0 keeps the resumed run active.
    expect((await call('PUT', `/workflows/${id}/concurrency`, ALICE, { limit: 0 })).status).toBe(200);
    // alice resumes, then revokes bob: he is refused again and his refusals change nothing.
    expect((await call('POST', `/workflows/${id}/runs`, ALICE, { resume_mode: 'hot' })).status).toBe(201);
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'R', {
      timeoutMs: 30_000,
      what: 'the resumed run',
    });
    const resumed = (await lastRun(stack.database.db, id))!;
    const revoked = await call('DELETE', `/workflows/${id}/grants/bob`, ALICE);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ workflow_id: id, user: 'bob', granted_by: 'alice' });
    const logBefore = await eventLog(id);
    await bobRefused();
    expect(await lastRun(stack.database.db, id)).toEqual(resumed);
    expect(await workflowLimit(id)).toBe(0);
    expect(await eventLog(id)).toEqual(logBefore);
    expect((await call('GET', `/workflows/${id}/status`, BOB)).body.may_operate).toBe(false);
    // Revoking what is not granted names the user; the admin withdraws the observer's grant.
    const missing = await call('DELETE', `/workflows/${id}/grants/bob`, ALICE);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'grant_not_found', field: 'user' });
    expect((await call('DELETE', `/workflows/${id}/grants/watcher`, ADMIN)).status).toBe(200);
    expect(await grantRows(id)).toEqual([]);

    expect((await call('POST', `/workflows/${id}/stop`, ALICE, { mode: 'drain' })).status).toBe(200);
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'S', {
      timeoutMs: 30_000,
      what: 'the run to stop',
    });

    // The log, readable by anyone, names who granted, acted and revoked (bob's refusals are not in it).
    const events = await call('GET', `/workflows/${id}/events?limit=100`, WATCHER);
    expect(
      (events.body.events as { user: string; action: string; result: string; details: { user?: string } }[])
        .reverse()
        .map((e) => `${e.user}:${e.action}${e.details.user ? `(${e.details.user})` : ''}:${e.result}`),
    ).toEqual([
      'alice:start:ok',
      'alice:grant(bob):ok',
      'alice:grant(bob):ok',
      'root:grant(watcher):ok',
      'bob:pause:ok',
      'bob:concurrency:ok',
      'bob:stop-drain:ok',
      'alice:concurrency:ok',
      'alice:resume:ok',
      'alice:revoke(bob):ok',
      'root:revoke(watcher):ok',
      'alice:stop-drain:ok',
    ]);
  }, 90_000);
});

describe('grants through jmt', () => {
  let server: ApiServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('jmt workflow grant / grants / revoke, and the refusals as one line with exit 2', async () => {
    const port = await freePort();
    server = await startApiServer({
      db: stack.database.db,
      config: stack.config,
      temporal: stack.temporal.client,
      auth: { mode: 'tokens', tokens: parseTokens(TOKENS) },
      port,
      host: '127.0.0.1',
    });
    const url = server.url;
    const jmt = async (token: string, ...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const io = {
        stdout: { write: (t: string) => ((stdout += t), true) },
        stderr: { write: (t: string) => ((stderr += t), true) },
      };
      const code = await runCli(['--api-url', url, ...args], io, { env: { ...stack.env, JMT_TOKEN: token } });
      return { code, stdout, stderr };
    };
    const id = await bindAlices(tokenApp(), 'grants-cli');

    const refused = await jmt(BOB, 'workflow', 'grant', String(id), 'bob');
    expect(refused.code).toBe(2);
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/only the owner or an admin/);

    const granted = await jmt(ALICE, 'workflow', 'grant', String(id), 'bob');
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);
    expect(granted.stdout).toContain(`workflow ${id}: bob may now act on it`);
    const repeat = await jmt(ALICE, 'workflow', 'grant', String(id), 'bob');
    expect(repeat.stdout).toContain('already granted (by alice');

    const text = await jmt(WATCHER, 'workflow', 'grants', String(id));
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`workflow ${id}: owner alice`);
    expect(text.stdout).toMatch(/USER\s+GRANTED_BY\s+SINCE/);
    expect(text.stdout).toMatch(/\nbob\s+alice\s+\d{4}-/);
    const json = await jmt(WATCHER, 'workflow', 'grants', String(id), '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ owner: 'alice', grants: [{ user: 'bob', granted_by: 'alice' }] });

    const bad = await jmt(ALICE, 'workflow', 'grant', String(id), 'a\tb');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/user/);

    const revoked = await jmt(ALICE, 'workflow', 'revoke', String(id), 'bob');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`workflow ${id}: grant of bob revoked`);
    const gone = await jmt(ALICE, 'workflow', 'revoke', String(id), 'bob', '--json');
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/bob holds no grant/);
    const empty = await jmt(ALICE, 'workflow', 'grants', String(id));
    expect(empty.stdout).toContain(`workflow ${id}: owner alice; no grants`);

    // The audit log shows grants in `jmt workflow events`.
    const events = await jmt(ALICE, 'workflow', 'events', String(id));
    expect(events.stdout).not.toMatch(/grant_not_found/); // refused: not written
    expect(events.stdout).toMatch(/alice\s+revoke\s+ok\s+\S*\s*user=bob/);
    expect(events.stdout).toMatch(/alice\s+grant\s+ok\s+\S*\s*user=bob created=true/);
  }, 60_000);
});
