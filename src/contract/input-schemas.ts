/**
 * The strict pieces every request schema is built from, so each rule is written once:
 * - ids and whole numbers in paths and query strings are decimal digits only (`^[1-9][0-9]*$`):
 *   `z.coerce.number()` would read `0x5`, ` 5`, `5e0` or `05` as 5;
 * - every integer is bounded by the column it is stored in (Postgres `integer`: ±2^31), so a value
 *   past it is a 422 naming the field, never an "out of range" 500 from the database.
 * Text Postgres cannot store (NUL, unpaired surrogates), nesting depth and `__proto__` keys are
 * checked once for every JSON body by src/api/input-guards.ts.
 */
import { z } from '@hono/zod-openapi';

/** Largest Postgres `integer` (serial ids, counts, exit codes, process ids). */
export const INT4_MAX = 2_147_483_647;
export const INT4_MIN = -2_147_483_648;

const POSITIVE_DIGITS = /^[1-9][0-9]{0,15}$/;
const DIGITS = /^(?:0|[1-9][0-9]{0,15})$/;

/** A path id: decimal digits, 1..max (bigint ids stop at 2^53, what db.ts reads as a number). */
export const pathId = (name: string, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(POSITIVE_DIGITS, 'must be a positive whole number written in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .openapi({ param: { name, in: 'path' }, example: '1', type: 'string', pattern: POSITIVE_DIGITS.source });

/** An optional whole number in a query string, decimal digits only, min..max. */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(min >= 1 ? POSITIVE_DIGITS : DIGITS, 'must be a whole number written in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .openapi({ type: 'string', pattern: (min >= 1 ? POSITIVE_DIGITS : DIGITS).source });

/** A JSON integer stored in a Postgres `integer` column. */
export const int4 = (min = INT4_MIN, max = INT4_MAX) => z.number().int().min(min).max(max);
