/**
 * An answer already serialised as JSON (by Postgres, or spliced from parts that were), typed as
 * the route's JSON answer: the route's schema still describes it, and the tests' response check
 * (response-check.ts) parses it against that schema.
 */
import type { Context, TypedResponse } from 'hono';

export const jsonText = <T>(c: Context, text: string) =>
  c.body(text, 200, { 'content-type': 'application/json' }) as unknown as TypedResponse<T, 200, 'json'>;
