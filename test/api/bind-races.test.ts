/**
 * Races on the bind routes: chunks sent while their draft is being committed (each is either in
 * the bound workflow or refused with 409 draft_committing, never acknowledged and lost), two
 * commits of one draft, and two re-binds of one workflow at once (one workflow, the owner's
 * commands; another operator's re-bind refused whatever the order). Interleavings are forced with
 * a row lock held from a separate connection, and waited for through pg_stat_activity (bounded).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindRequest, commands, startTokenApp, type TokenApp } from '../helpers/token-app';
import { waitFor } from '../helpers/wait';

let t: TokenApp;
const V1 = '/api/v1';

beforeAll(async () => {
  t = await startTokenApp();
});
afterAll(async () => t?.close());

const extraTasks = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: `${prefix}-${i}`,
    template: 'agg',
    node_args: { year: `${prefix}-${i}` },
  }));

async function newDraft(args: string): Promise<string> {
  const { tasks, ...spec } = bindRequest(args);
  const id = (await t.call('POST', `${V1}/bind/drafts`, { body: spec })).body.draft_id as string;
  expect((await t.call('POST', `${V1}/bind/drafts/${id}/tasks`, { body: { tasks } })).status).toBe(200);
  return id;
}

/** Hold the draft's row lock from another session until `release()`. */
async function lockDraft(draftId: string) {
  const client = new pg.Client({ connectionString: t.config.databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query('select id from bind_draft where id = $1 for update', [draftId]);
  return {
    async release() {
      await client.query('commit');
      await client.end();
    },
  };
}

/** Sessions of this database waiting for a lock: how a test knows a request reached its lock. */
async function lockWaiters(): Promise<number> {
  const { rows } = await pgQuery<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
  );
  return rows[0].n;
}

async function pgQuery<T extends pg.QueryResultRow>(text: string) {
  const client = new pg.Client({ connectionString: t.config.databaseUrl });
  await client.connect();
  try {
    return await client.query<T>(text);
  } finally {
    await client.end();
  }
}

describe('commit versus chunks', () => {
  it('a chunk that reaches the draft after the commit began is refused 409 draft_committing', async () => {
    const id = await newDraft('race-commit-first');
    const lock = await lockDraft(id);
    const commit = t.call('POST', `${V1}/bind/drafts/${id}/commit`);
    await waitFor(async () => (await lockWaiters()) >= 1, { timeoutMs: 10_000, what: 'commit waiting for the draft' });
    const chunk = t.call('POST', `${V1}/bind/drafts/${id}/tasks`, { body: { tasks: extraTasks('late', 3) } });
    await waitFor(async () => (await lockWaiters()) >= 2, { timeoutMs: 10_000, what: 'chunk waiting for the draft' });
    await lock.release();
    const [c, k] = await Promise.all([commit, chunk]);
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.num_tasks).toBe(5);
    expect(k.status).toBe(409);
    expect(k.body.error.code).toBe('draft_committing');
  });

  it('a chunk that got the draft first is in the bound workflow', async () => {
    const id = await newDraft('race-chunk-first');
    const lock = await lockDraft(id);
    const chunk = t.call('POST', `${V1}/bind/drafts/${id}/tasks`, { body: { tasks: extraTasks('early', 3) } });
    await waitFor(async () => (await lockWaiters()) >= 1, { timeoutMs: 10_000, what: 'chunk waiting for the draft' });
    const commit = t.call('POST', `${V1}/bind/drafts/${id}/commit`);
    await waitFor(async () => (await lockWaiters()) >= 2, { timeoutMs: 10_000, what: 'commit waiting for the draft' });
    await lock.release();
    const [k, c] = await Promise.all([chunk, commit]);
    expect(k.body).toEqual({ received: 3, total: 8 });
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.num_tasks).toBe(8);
  });

  it('a chunk placed by offset during a commit is either bound or refused, never acknowledged and lost', async () => {
    const id = await newDraft('race-offset');
    const lock = await lockDraft(id);
    const commit = t.call('POST', `${V1}/bind/drafts/${id}/commit`);
    await waitFor(async () => (await lockWaiters()) >= 1, { timeoutMs: 10_000, what: 'commit waiting for the draft' });
    const chunk = t.call('POST', `${V1}/bind/drafts/${id}/tasks`, {
      body: { tasks: extraTasks('placed', 3), offset: 5 },
    });
    await waitFor(async () => (await lockWaiters()) >= 2, { timeoutMs: 10_000, what: 'chunk waiting for the draft' });
    await lock.release();
    const [c, k] = await Promise.all([commit, chunk]);
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    if (k.status === 200) expect(c.body.num_tasks).toBe(8);
    else {
      expect(k.body.error.code).toBe('draft_committing');
      expect(c.body.num_tasks).toBe(5);
    }
  });

  it('chunks racing a commit: every acknowledged task is bound, every other one refused', async () => {
    const id = await newDraft('race-many');
    const chunks = Array.from({ length: 8 }, (_, i) =>
      t.call('POST', `${V1}/bind/drafts/${id}/tasks`, { body: { tasks: extraTasks(`c${i}`, 2) } }),
    );
    const commit = t.call('POST', `${V1}/bind/drafts/${id}/commit`);
    const answers = await Promise.all(chunks);
    const bound = await commit;
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    for (const a of answers) expect([200, 409]).toContain(a.status);
    const acknowledged = answers.filter((a) => a.status === 200).reduce((n, a) => n + a.body.received, 0);
    expect(bound.body.num_tasks).toBe(5 + acknowledged);
    const rows = await t.db.selectFrom('task').select('id').where('workflow_id', '=', bound.body.workflow_id).execute();
    expect(rows.length).toBe(5 + acknowledged);
  });

  it('two commits of one draft: one binds, the other is 409 draft_committing', async () => {
    const id = await newDraft('race-two-commits');
    const lock = await lockDraft(id);
    const first = t.call('POST', `${V1}/bind/drafts/${id}/commit`);
    await waitFor(async () => (await lockWaiters()) >= 1, { timeoutMs: 10_000, what: 'first commit waiting' });
    const second = t.call('POST', `${V1}/bind/drafts/${id}/commit`);
    await waitFor(async () => (await lockWaiters()) >= 2, { timeoutMs: 10_000, what: 'second commit waiting' });
    await lock.release();
    const statuses = (await Promise.all([first, second])).map((a) => [a.status, a.body.error?.code]);
    expect(statuses).toContainEqual([200, undefined]);
    expect(statuses).toContainEqual([409, 'draft_committing']);
  });
});

describe('two re-binds of one workflow at once', () => {
  it("the owner's two re-binds leave one workflow; another operator's is refused in any order", async () => {
    const first = await t.call('POST', `${V1}/bind`, { body: bindRequest('race-rebind') });
    const wf = first.body.workflow_id;
    const answers = await Promise.all([
      t.call('POST', `${V1}/bind`, { body: bindRequest('race-rebind', { verbose: '-a' }), as: 'alice' }),
      t.call('POST', `${V1}/bind`, { body: bindRequest('race-rebind', { verbose: '-evil' }), as: 'bob' }),
      t.call('POST', `${V1}/bind`, { body: bindRequest('race-rebind', { verbose: '-b' }), as: 'alice' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 403, 200]);
    expect(answers[0].body.workflow_id).toBe(wf);
    expect(answers[2].body.workflow_id).toBe(wf);
    const n = await t.db.selectFrom('workflow').select('id').where('workflow_args', '=', 'race-rebind').execute();
    expect(n.length).toBe(1);
    const cmds = Object.values(await commands(t.db, wf)).filter((c) => c.startsWith('python model.py'));
    expect(cmds.every((c) => c.endsWith('-a') || c.endsWith('-b'))).toBe(true);
    expect(new Set(cmds.map((c) => c.slice(-2))).size).toBe(1);
  });
});
