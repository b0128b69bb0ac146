/**
 * Timestamps as they leave the database layer: ISO 8601 strings, so rows go straight to JSON.
 */

/**
 * Takes `unknown` because schema.ts types defaulted dates as `Generated<Timestamp>`, whose select
 * type Kysely leaves as the ColumnType wrapper; at run time pg always hands back a Date (a string
 * from a raw `sql` select of a computed value).
 */
export function iso(d: unknown): string {
  if (d instanceof Date) return d.toISOString();
  if (typeof d === 'string') return new Date(d).toISOString();
  throw new Error(`expected a timestamp, got ${typeof d}`);
}

/** `iso` for a column that may be NULL. */
export const isoOrNull = (d: unknown): string | null => (d === null || d === undefined ? null : iso(d));
