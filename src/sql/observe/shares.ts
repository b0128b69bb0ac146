/**
 * Read-only share links: a random token (32 bytes, base64url) shown once; only its SHA-256 is
 * stored. A link grants GET on one workflow's read routes and GUI pages until it expires or is
 * revoked (src/api/auth.ts enforces the scope).
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { invalid } from '../../domain/errors';
import type { Db } from '../db';
import { iso, isoOrNull } from '../dates';
import { notFound } from '../../domain/errors';
import type { ShareLink } from '../../contract/observe';
export type { ShareLink };

export const DEFAULT_SHARE_HOURS = 24 * 7;
export const MAX_SHARE_HOURS = 24 * 90;

export const shareTokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

type ShareRow = {
  id: number;
  workflow_id: number;
  created_by: string;
  created_date: Date;
  expires_date: Date;
  revoked_date: Date | null;
  active: boolean;
};
const view = (r: ShareRow): ShareLink => ({
  id: r.id,
  workflow_id: r.workflow_id,
  created_by: r.created_by,
  created_date: iso(r.created_date),
  expires_date: iso(r.expires_date),
  revoked_date: isoOrNull(r.revoked_date),
  active: r.active,
});

export async function createShare(
  db: Db,
  workflowId: number,
  createdBy: string,
  hours = DEFAULT_SHARE_HOURS,
): Promise<ShareLink & { token: string }> {
  if (!(hours > 0 && hours <= MAX_SHARE_HOURS))
    throw invalid('expires_in_hours', `expires_in_hours must be between 0 and ${MAX_SHARE_HOURS}`);
  const token = randomBytes(32).toString('base64url');
  const { rows } = await sql<ShareRow>`
    insert into share_link (workflow_id, token_sha256, created_by, expires_date)
    values (${workflowId}, ${shareTokenHash(token)}, ${createdBy}, now() + make_interval(secs => ${Math.round(hours * 3600)}))
    returning id, workflow_id, created_by, created_date, expires_date, revoked_date, true as active`.execute(db);
  return { ...view(rows[0]), token };
}

export async function listShares(db: Db, workflowId: number): Promise<ShareLink[]> {
  const { rows } = await sql<ShareRow>`
    select id, workflow_id, created_by, created_date, expires_date, revoked_date,
           (revoked_date is null and expires_date > now()) as active
      from share_link where workflow_id = ${workflowId} order by id desc`.execute(db);
  return rows.map(view);
}

export async function getShare(db: Db, id: number): Promise<ShareLink> {
  const { rows } = await sql<ShareRow>`
    select id, workflow_id, created_by, created_date, expires_date, revoked_date,
           (revoked_date is null and expires_date > now()) as active
      from share_link where id = ${id}`.execute(db);
  if (!rows[0]) throw notFound('share link', id, 'id');
  return view(rows[0]);
}

export async function revokeShare(db: Db, id: number, by: string): Promise<ShareLink> {
  await sql`update share_link set revoked_date = now(), revoked_by = ${by} where id = ${id} and revoked_date is null`.execute(
    db,
  );
  return getShare(db, id);
}

export type ShareLookup =
  { ok: true; share_id: number; workflow_id: number } | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

export async function resolveShareToken(db: Db, token: string): Promise<ShareLookup> {
  const { rows } = await sql<{ id: number; workflow_id: number; revoked: boolean; expired: boolean }>`
    select id, workflow_id, revoked_date is not null as revoked, expires_date <= now() as expired
      from share_link where token_sha256 = ${shareTokenHash(token)}`.execute(db);
  const r = rows[0];
  if (!r) return { ok: false, reason: 'unknown' };
  if (r.revoked) return { ok: false, reason: 'revoked' };
  if (r.expired) return { ok: false, reason: 'expired' };
  return { ok: true, share_id: r.id, workflow_id: r.workflow_id };
}

/** Which workflow a read route is about: a share link may read only routes of its workflow. */
export async function workflowOfRoute(db: Db, relPath: string): Promise<number | undefined> {
  let m = /^\/workflows\/(\d+)(\/|$)/.exec(relPath);
  if (m) return Number(m[1]);
  m = /^\/tasks\/(\d+)(\/|$)/.exec(relPath);
  if (m) {
    const { rows } = await sql<{
      workflow_id: number;
    }>`select workflow_id from task where id = ${Number(m[1])}`.execute(db);
    return rows[0]?.workflow_id ?? -1;
  }
  m = /^\/task-instances\/(\d+)\/logs$/.exec(relPath);
  if (m) {
    const { rows } = await sql<{
      workflow_id: number;
    }>`select workflow_id from task_instance where id = ${Number(m[1])}`.execute(db);
    return rows[0]?.workflow_id ?? -1;
  }
  return undefined;
}
