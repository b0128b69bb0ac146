/**
 * Checks on every API request that no route schema expresses:
 * - JSON bodies nested deeper than MAX_JSON_DEPTH are refused (413 `too_deep`, naming where): the
 *   parser copes, but anything that later walks the value recursively (JSON.stringify, Postgres
 *   jsonb) would overflow its stack and answer 500;
 * - NUL characters in JSON strings (keys or values), query parameters and the path are refused
 *   (422 naming the field): Postgres cannot store U+0000 in text or jsonb, so they would otherwise
 *   fail as a database error (500) deep inside a transaction.
 * Every other character (emoji, RTL, combining marks, other control characters) passes through and
 * is stored verbatim.
 */
import type { MiddlewareHandler } from 'hono';
import { JobmonError } from '../domain/errors';

/** Far above any real body (a bind spec nests about 6 levels), far below any stack limit. */
export const MAX_JSON_DEPTH = 64;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface InputGuardOptions {
  /**
   * Routes whose bodies are not scanned for depth: the bind routes. Their strict schemas bound
   * every nested value (the open resource maps take only strings and numbers, else 422), and the
   * scan would cost ~10 ms per 5,000-task chunk on the path the bind benchmark measures.
   */
  skipDepthCheck?: (path: string) => boolean;
  /**
   * Routes whose bodies may carry NUL: the wrapper's reports, whose output tails are whatever
   * bytes the job printed. Refusing them would lose the report; the route replaces NUL instead.
   */
  allowNulInBody?: (path: string) => boolean;
}

export function inputGuards(options: InputGuardOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (/%00/i.test(url.pathname)) throw nulError('path');
    for (const [key, value] of url.searchParams) {
      // A nameless or NUL-bearing parameter is named by where it is: the query.
      if (key.includes('\0') || value.includes('\0')) throw nulError(key && !key.includes('\0') ? key : 'query');
    }
    const type = c.req.header('content-type') ?? '';
    if (BODY_METHODS.has(c.req.method) && /^application\/(.+\+)?json\b/i.test(type)) {
      // The text is cached by Hono: the route's validator parses this same text once. Checking
      // the text (a native substring search, one pass over the characters) costs a fraction of
      // that parse; only a body that fails it is parsed here, to name the offending field.
      const text = await c.req.text();
      const checkDepth = !options.skipDepthCheck?.(c.req.path);
      const checkNul = !options.allowNulInBody?.(c.req.path);
      if ((checkNul && text.includes('\\u0000')) || (checkDepth && jsonDepth(text) > MAX_JSON_DEPTH)) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          // Malformed JSON: the route's validator answers 400 malformed_json for it.
          return next();
        }
        checkJsonValue(body, checkNul);
      }
    }
    return next();
  };
}

/** Deepest nesting of arrays and objects in JSON text (brackets inside strings do not count). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > max) max = depth;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return max;
}

/** Walks the parsed body once: depth first, bounded by MAX_JSON_DEPTH, so it cannot overflow. */
export function checkJsonValue(value: unknown, checkNul = true): void {
  const path: PropertyKey[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (checkNul && v.includes('\0')) throw nulError(issuePath(path));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    if (depth > MAX_JSON_DEPTH) {
      throw new JobmonError(
        'too_large',
        `${issuePath(path)}: JSON nested more than ${MAX_JSON_DEPTH} levels deep`,
        issuePath(path),
        'too_deep',
      );
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        visit(v[i], depth + 1);
        path.pop();
      }
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      path.push(key);
      if (checkNul && key.includes('\0')) throw nulError(issuePath(path));
      visit(child, depth + 1);
      path.pop();
    }
  };
  visit(value, 1);
}

/** Dotted path as the bind layer writes it: `tasks[12].upstream[0]`; the body itself is `body`. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || 'body';
}

function nulError(field: string): JobmonError {
  return new JobmonError(
    'invalid',
    `${field}: contains a NUL character (U+0000), which cannot be stored`,
    field,
    'nul_character',
  );
}
