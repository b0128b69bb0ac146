/**
 * `COPY table (columns) FROM STDIN` in Postgres' text format (pg-copy-streams): how a bind stages a
 * chunk's 5,000 rows (sql/bind-rows.ts). Against one `insert ... select from unnest(...)` of 17
 * array parameters it saves pg's array-literal escaping of every value in the API process and
 * Postgres' parsing of those literals: at 100,000 tasks, Postgres CPU 1.0 → 0.4–0.5 s and wall
 * 1.5–1.7 → 0.9–1.0 s in a scratch database (docs/benchmarks.md, "Bind").
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One value of a text-format COPY row: `\N` for null, special characters backslash-escaped. */
export function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPED[c]) : value;
}

/** A Postgres array literal of strings (for a text[] column), as `'{"a","b"}'` reads. */
export function textArrayLiteral(values: readonly string[]): string {
  if (values.length === 0) return '{}';
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** Send `rows` (already COPY text: tab-separated fields, one line per row) on `client`. */
export async function copyIn(client: pg.PoolClient, statement: string, rows: string): Promise<void> {
  await pipeline(Readable.from([rows]), client.query(copyFrom(statement)));
}
