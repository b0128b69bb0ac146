/**
 * Server-side secrets (table `server_secret`, migration 0009), created on first use.
 *
 * Creation races between replicas are settled by the primary key: everyone inserts a random value
 * with `on conflict do nothing`, then reads whichever value won. A value is cached for a minute, so a
 * rotation (deleting the row) reaches every process within that time without a restart.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from './db';

export type SecretName = 'job_token_key';

const CACHE_MS = 60_000;
const cache = new WeakMap<Db, Map<SecretName, { value: Buffer; until: number }>>();

export async function serverSecret(db: Db, name: SecretName, nowMs = Date.now()): Promise<Buffer> {
  let perDb = cache.get(db);
  if (!perDb) cache.set(db, (perDb = new Map()));
  const hit = perDb.get(name);
  if (hit && hit.until > nowMs) return hit.value;

  await db
    .insertInto('server_secret')
    .values({ name, value: randomBytes(32) })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('server_secret').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  perDb.set(name, { value: row.value, until: nowMs + CACHE_MS });
  return row.value;
}

/** Forget cached secrets (tests rotating a key; a process that wants a rotation now). */
export function forgetServerSecrets(db: Db): void {
  cache.delete(db);
}
