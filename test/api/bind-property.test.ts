/**
 * Property of the bind routes (fast-check): whatever the body — a valid request with one or more
 * fields replaced by hostile values (wrong types, huge or negative numbers, NUL, unpaired
 * surrogates, `__proto__`, deep nesting, long strings) — every answer is 2xx or 4xx, and after a
 * 4xx the row count of every table is what it was. A refused commit is the one documented
 * exception: it deletes its own draft (and only that). Bounded in examples and in time.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindRequest, startTokenApp, tableCounts, type TokenApp } from '../helpers/token-app';

let t: TokenApp;
const V1 = '/api/v1';

beforeAll(async () => {
  t = await startTokenApp();
});
afterAll(async () => t?.close());

/** Paths into a bind request that a mutation may replace (the nested fields included). */
const PATHS: (string | number)[][] = [
  ['tool'],
  ['tool', 'name'],
  ['tool', 'version_id'],
  ['workflow', 'workflow_args'],
  ['workflow', 'name'],
  ['workflow', 'attributes'],
  ['workflow', 'max_concurrently_running'],
  ['workflow', 'default_compute_resources'],
  ['workflow', 'default_compute_resources', 'memory'],
  ['workflow', 'default_compute_resources', 'queue'],
  ['task_templates', 0, 'command_template'],
  ['task_templates', 0, 'node_args'],
  ['task_templates', 0, 'node_args', 0],
  ['task_templates', 1, 'default_max_attempts'],
  ['tasks'],
  ['tasks', 0],
  ['tasks', 0, 'key'],
  ['tasks', 0, 'node_args', 'location_id'],
  ['tasks', 0, 'op_args'],
  ['tasks', 1, 'upstream'],
  ['tasks', 4, 'upstream', 0],
  ['tasks', 2, 'compute_resources'],
  ['tasks', 2, 'compute_resources', 'cores'],
  ['tasks', 3, 'max_attempts'],
  ['tasks', 3, 'attributes'],
  ['tasks', 3, 'resource_scales'],
  ['tasks', 4, 'cluster_name'],
];

const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    '',
    '\u0000',
    'a\ud800b',
    '\udfff',
    '__proto__',
    2 ** 31,
    -(2 ** 31) - 1,
    Number.MAX_SAFE_INTEGER,
    -1,
    0,
    1e308,
    'x'.repeat(300_000),
    deep(80),
    ['m1', 'm1'],
    ['nope'],
    { queue: 'no.such.q' },
    { memory: '-5G' },
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), {
    maxKeys: 3,
  }),
);

function mutate(body: any, path: (string | number)[], value: unknown): void {
  let at = body;
  for (const part of path.slice(0, -1)) {
    if (typeof at !== 'object' || at === null) return;
    at = at[part];
  }
  if (typeof at === 'object' && at !== null) at[path[path.length - 1]] = value;
}

/** JSON text; `__proto__` as a key cannot be set by assignment, so it is spliced in as text. */
function toText(body: unknown, protoKey: boolean): string {
  const text = JSON.stringify(body);
  return protoKey ? text.replace('"workflow":{', '"workflow":{"__proto__":{"x":1},') : text;
}

async function expectNoPartialWrite(
  step: string,
  before: Record<string, number>,
  answer: { status: number; body: any },
  ignore: (table: string) => boolean = () => false,
) {
  expect(answer.status, `${step}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBeLessThan(500);
  if (answer.status >= 400) {
    expect(answer.body.error?.code, step).toBeTypeOf('string');
    const after = await tableCounts(t.db);
    for (const table of Object.keys(before))
      if (!ignore(table)) expect(after[table], `${step}: ${table}`).toBe(before[table]);
  }
}

describe('bind routes under arbitrary hostile bodies', () => {
  it('answer 2xx or 4xx, and a 4xx leaves every table as it was', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...PATHS), hostileValue), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        async (mutations, chunked, protoKey) => {
          const body: any = bindRequest(`prop-${n++}`);
          for (const [path, value] of mutations) mutate(body, path, value);
          if (!chunked) {
            const before = await tableCounts(t.db);
            const answer = await t.call('POST', `${V1}/bind`, { raw: toText(body, protoKey) });
            await expectNoPartialWrite('bind', before, answer);
            return;
          }
          const { tasks, ...spec } = typeof body === 'object' && body !== null ? body : { tasks: undefined };
          let before = await tableCounts(t.db);
          const draft = await t.call('POST', `${V1}/bind/drafts`, { raw: toText(spec, protoKey) });
          await expectNoPartialWrite('draft', before, draft);
          if (draft.status !== 201) return;
          before = await tableCounts(t.db);
          const chunk = await t.call('POST', `${V1}/bind/drafts/${draft.body.draft_id}/tasks`, {
            raw: JSON.stringify({ tasks }),
          });
          await expectNoPartialWrite('chunk', before, chunk);
          before = await tableCounts(t.db);
          const commit = await t.call('POST', `${V1}/bind/drafts/${draft.body.draft_id}/commit`);
          // A refused commit deletes its draft, and nothing else.
          await expectNoPartialWrite('commit', before, commit, (table) => table.startsWith('bind_draft'));
          const left = await t.db.selectFrom('bind_draft').select('id').where('id', '=', draft.body.draft_id).execute();
          expect(left).toEqual([]);
        },
      ),
      { numRuns: 150, seed: 13, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: false },
    );
  }, 90_000);
});
