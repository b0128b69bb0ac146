/**
 * Draft expiry: the sweep the API runs once a minute deletes drafts older than the TTL (with
 * their chunks), spares younger ones and a commit in progress, and works in bounded batches.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteExpiredDrafts, DRAFT_SWEEP_BATCH } from '../../src/sql/bind-store';
import { bindRequest, startTokenApp, type TokenApp } from '../helpers/token-app';

let t: TokenApp;
beforeAll(async () => {
  t = await startTokenApp();
});
afterAll(async () => t?.close());

async function draft(args: string): Promise<string> {
  const { tasks, ...spec } = bindRequest(args);
  const id = (await t.call('POST', '/api/v1/bind/drafts', { body: spec })).body.draft_id as string;
  expect((await t.call('POST', `/api/v1/bind/drafts/${id}/tasks`, { body: { tasks } })).status).toBe(200);
  return id;
}
const age = (id: string, hours: number, column: 'created_date' | 'committing_since' = 'created_date') =>
  sql`update bind_draft set ${sql.ref(column)} = now() - ${hours}::double precision * interval '1 hour' where id = ${id}`.execute(
    t.db,
  );
const exists = async (id: string) =>
  (await t.db.selectFrom('bind_draft').select('id').where('id', '=', id).execute()).length === 1;

describe('draft expiry', () => {
  it('deletes drafts past the TTL with their chunks, and spares young ones and a running commit', async () => {
    const [old, young, committing] = [await draft('exp-old'), await draft('exp-young'), await draft('exp-committing')];
    await age(old, 25);
    await age(committing, 30);
    await age(committing, 0.1, 'committing_since');
    expect(await deleteExpiredDrafts(t.db, 24 * 3600)).toBe(1);
    expect([await exists(old), await exists(young), await exists(committing)]).toEqual([false, true, true]);
    expect((await t.call('POST', `/api/v1/bind/drafts/${old}/commit`)).status).toBe(404);
    // A commit whose process died long ago is swept too.
    await age(committing, 25, 'committing_since');
    expect(await deleteExpiredDrafts(t.db, 24 * 3600)).toBe(1);
    expect(await exists(committing)).toBe(false);
  });

  it('works in bounded batches', async () => {
    const spec = JSON.stringify(bindRequest('exp-many'));
    await sql`insert into bind_draft (id, "user", spec, created_date)
              select gen_random_uuid(), 'alice', ${spec}::jsonb, now() - interval '2 days'
              from generate_series(1, ${DRAFT_SWEEP_BATCH * 2 + 5})`.execute(t.db);
    expect(await deleteExpiredDrafts(t.db, 3600, 2)).toBe(DRAFT_SWEEP_BATCH * 2);
    expect(await deleteExpiredDrafts(t.db, 3600, 2)).toBe(5);
  });
});
