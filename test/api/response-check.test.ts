/**
 * The response check (src/api/response-check.ts) on a two-route app of its own: an answer with a
 * field its schema leaves out, or of the wrong type, becomes a 500 naming the place; a described
 * answer passes unchanged. No database: this is the mechanism every API test relies on.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { describe, expect, it, vi } from 'vitest';
import type { AppEnv } from '../../src/api/deps';
import { responseCheck, undescribedField } from '../../src/api/response-check';

function app(answer: unknown) {
  const a = new OpenAPIHono<AppEnv>();
  a.use('*', responseCheck(a));
  const schema = z.object({ id: z.number().int(), items: z.array(z.object({ name: z.string() })) });
  a.openapi(
    createRoute({
      method: 'get',
      path: '/things/{id}',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: { description: 'A thing', content: { 'application/json': { schema } } } },
    }),
    // The handler's type is the schema's; the test sends what a buggy route would.
    (c) => c.json(answer as z.infer<typeof schema>, 200),
  );
  return a;
}

describe('response check', () => {
  it('passes a described answer and refuses an undescribed field or a wrong type', async () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const good = await app({ id: 1, items: [{ name: 'a' }] }).request('/things/1');
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ id: 1, items: [{ name: 'a' }] });

    const extra = await app({ id: 1, items: [{ name: 'a', secret: 'x' }] }).request('/things/1');
    expect(extra.status).toBe(500);
    expect(((await extra.json()) as any).error.message).toMatch(/\$\.items\[0\]\.secret is not described/);

    const wrong = await app({ id: 'one', items: [] }).request('/things/1');
    expect(wrong.status).toBe(500);
    expect(((await wrong.json()) as any).error).toMatchObject({ code: 'response_mismatch' });
    expect(spy).toHaveBeenCalled();
  });

  it('finds the first key the parsed value lacks', () => {
    expect(undescribedField({ a: 1, b: { c: [1, { d: 2 }] } }, { a: 1, b: { c: [1, {}] } })).toBe('$.b.c[1].d');
    expect(undescribedField({ a: 1, u: undefined }, { a: 1 })).toBeUndefined();
  });
});
