/** Small shared pieces of the observer queries (issue 6). */
import { sql } from 'kysely';
import { JobmonError, notFound } from '../../domain/errors';
import type { Db } from '../db';

export async function assertWorkflow(db: Db, workflowId: number): Promise<void> {
  const { rows } = await sql<{ id: number }>`select id from workflow where id = ${workflowId}`.execute(db);
  if (!rows.length) throw notFound('workflow', workflowId, 'id');
}

/** Linear-interpolated quantile of an ascending array (Postgres' percentile_cont). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (!sorted.length) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** "3 h 20 min", "45 s": what a distant observer reads. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  const rm = m % 60;
  if (h < 48) return rm ? `${h} h ${rm} min` : `${h} h`;
  const d = Math.floor(h / 24);
  const rh = h % 24;
  return rh ? `${d} d ${rh} h` : `${d} d`;
}

/** `k=v` → { key, value }; `field` names the parameter in the 422. */
export function parseKeyValue(text: string, field: string): { key: string; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new JobmonError('invalid', `${field} must be key=value, got ${JSON.stringify(text)}`, field, 'invalid');
  return { key: text.slice(0, eq).trim(), value: text.slice(eq + 1).trim() };
}
