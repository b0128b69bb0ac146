/**
 * Checks on every API request that no route schema expresses, in one place so that no route can
 * miss one (docs/reliability.md, "Bad input"):
 * - the body must be valid UTF-8 (422 `invalid_utf8`): decoding would otherwise replace bad bytes
 *   with U+FFFD silently and store something the client never sent;
 * - JSON nested deeper than MAX_JSON_DEPTH is refused (413 `too_deep`, naming where): the parser
 *   copes, but anything that later walks the value recursively (JSON.stringify, Postgres jsonb)
 *   would overflow its stack and answer 500;
 * - text Postgres cannot store — NUL (U+0000) and unpaired UTF-16 surrogates (`\ud800`, which
 *   jsonb refuses and text would turn into U+FFFD) — in JSON keys or values, query parameters or
 *   the path: 422 naming the field (`nul_character`, `unpaired_surrogate`) instead of a database
 *   error deep inside a transaction;
 * - `__proto__` as a JSON key (422 `reserved_key`): copying such an object into another (`{...x}`,
 *   `out[key] = v`) sets the copy's prototype instead of a key, so the entry would vanish silently.
 * Every other character (emoji, RTL, combining marks, other control characters) passes through and
 * is stored verbatim.
 *
 * Cost: the body is decoded once (the route's validator parses the same text, cached by Hono) and
 * scanned by native substring searches plus one pass for depth that skips string contents; only a
 * body that fails a scan is parsed here, to name the offending field.
 */
import type { MiddlewareHandler } from 'hono';
import type { z } from '@hono/zod-openapi';
import { JobmonError } from '../domain/errors';

/** Far above any real body (a bind spec nests about 6 levels), far below any stack limit. */
export const MAX_JSON_DEPTH = 64;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface InputGuardOptions {
  /**
   * Routes whose bodies may carry NUL and unpaired surrogates: the wrapper's reports, whose output
   * tails are whatever the job printed, cut at a character count. Refusing them would lose the
   * report; the route replaces those characters with U+FFFD instead.
   */
  repairTextInBody?: (path: string) => boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A `\uD800`–`\uDFFF` escape: the only way a JSON text can carry a surrogate on its own. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** An unpaired surrogate in a (decoded) string. */
const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function inputGuards(options: InputGuardOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (/%00/i.test(url.pathname)) throw textError('path', 'nul');
    for (const [key, value] of url.searchParams) {
      // A nameless or NUL-bearing parameter is named by where it is: the query.
      if (key.includes('\0') || value.includes('\0'))
        throw textError(key && !key.includes('\0') ? key : 'query', 'nul');
    }
    const type = c.req.header('content-type') ?? '';
    if (BODY_METHODS.has(c.req.method) && /^application\/(.+\+)?json\b/i.test(type)) {
      const text = await decodeBody(c.req.raw);
      // The route's validator reads the body through this cache: decoded once, here.
      // (Hono stores promises there, whatever its type declaration says.)
      (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
      const checkText = !options.repairTextInBody?.(c.req.path);
      const suspicious =
        (checkText && (text.includes('\\u0000') || SURROGATE_ESCAPE.test(text))) ||
        text.includes('"__proto__"') ||
        jsonDepth(text) > MAX_JSON_DEPTH;
      if (suspicious) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          // Malformed JSON: the route's validator answers 400 malformed_json for it.
          return next();
        }
        checkJsonValue(body, checkText);
      }
    }
    return next();
  };
}

async function decodeBody(raw: Request): Promise<string> {
  const bytes = await raw.arrayBuffer();
  try {
    return utf8.decode(bytes);
  } catch {
    throw new JobmonError('invalid', 'body: the request body is not valid UTF-8', 'body', 'invalid_utf8');
  }
}

/**
 * Deepest nesting of arrays and objects in JSON text (brackets inside strings do not count).
 * Jumps from quote to quote with indexOf rather than testing every character of every string: most
 * of a bind body is strings, and this runs on every chunk of it (~1.5 ms per 1.3 MB).
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      let end = text.indexOf('"', i + 1);
      while (end > 0 && escapedQuote(text, end)) end = text.indexOf('"', end + 1);
      if (end < 0) return max; // unterminated string: malformed JSON, the parser will say so
      i = end;
    } else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > max) max = depth;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return max;
}

/** A quote preceded by an odd number of backslashes is part of the string. */
function escapedQuote(text: string, at: number): boolean {
  let backslashes = 0;
  for (let k = at - 1; text.charCodeAt(k) === 0x5c; k--) backslashes++;
  return backslashes % 2 === 1;
}

/** Walks the parsed body once: depth first, bounded by MAX_JSON_DEPTH, so it cannot overflow. */
export function checkJsonValue(value: unknown, checkText = true): void {
  const path: PropertyKey[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (checkText) checkString(v, path);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    if (depth > MAX_JSON_DEPTH) {
      const field = readablePath(path);
      throw new JobmonError(
        'too_large',
        `${field}: JSON nested more than ${MAX_JSON_DEPTH} levels deep`,
        field,
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
    for (const key of Object.keys(v)) {
      path.push(key);
      if (key === '__proto__') {
        const field = issuePath(path);
        throw new JobmonError('invalid', `${field}: "__proto__" is not allowed as a key`, field, 'reserved_key');
      }
      if (checkText) checkString(key, path);
      visit((v as Record<string, unknown>)[key], depth + 1);
      path.pop();
    }
  };
  visit(value, 1);
}

function checkString(s: string, path: readonly PropertyKey[]): void {
  if (s.includes('\0')) throw textError(issuePath(path), 'nul');
  if (UNPAIRED.test(s)) throw textError(issuePath(path), 'surrogate');
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

/** Levels of a too-deep path shown: enough to find the field, short enough to read. */
const DEPTH_PATH_SHOWN = 4;

/** `tasks[0].compute_resources.a…(+61 levels)` rather than 64 × `[0]`. */
function readablePath(path: readonly PropertyKey[]): string {
  if (path.length <= DEPTH_PATH_SHOWN) return issuePath(path);
  return `${issuePath(path.slice(0, DEPTH_PATH_SHOWN))}…(+${path.length - DEPTH_PATH_SHOWN} levels)`;
}

/** Replace what Postgres cannot store in text with U+FFFD (the wrapper's output tails). */
export function storableText<T extends string | null | undefined>(text: T): T {
  if (typeof text !== 'string') return text;
  return text.replaceAll('\0', '\uFFFD').replace(new RegExp(UNPAIRED.source, 'g'), '\uFFFD') as T;
}

function textError(field: string, what: 'nul' | 'surrogate'): JobmonError {
  return what === 'nul'
    ? new JobmonError(
        'invalid',
        `${field}: contains a NUL character (U+0000), which cannot be stored`,
        field,
        'nul_character',
      )
    : new JobmonError(
        'invalid',
        `${field}: contains an unpaired UTF-16 surrogate (e.g. \\ud800 without its pair), which is not text and cannot be stored`,
        field,
        'unpaired_surrogate',
      );
}

type Issue = z.core.$ZodIssue;

/** A zod failure as the one error shape: 422 naming the first offending field. */
export function validationError(issues: readonly Issue[]): JobmonError {
  const issue = issues[0];
  if (issue.code === 'unrecognized_keys') {
    const field = issuePath([...issue.path, issue.keys[0]]);
    return new JobmonError('invalid', `${field}: unknown field`, field, 'invalid');
  }
  const field = issuePath(issue.path);
  return new JobmonError('invalid', `${field}: ${issue.message}`, field, 'invalid');
}
