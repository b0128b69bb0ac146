/**
 * Bad input by category (docs/reliability.md, "Bad input"): text Postgres cannot store, invalid
 * UTF-8, `__proto__` keys, nesting depth on every JSON route (bind included), integers past their
 * column, dates past Postgres' range, loose ids and enum look-ups through the prototype. Every
 * answer is a 4xx naming the field, and a refused request leaves every table as it was.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/api/input-guards';
import { bindRequest, launchInstance, startTokenApp, tableCounts, type TokenApp } from '../helpers/token-app';
import { mintJobToken } from '../../src/domain/job-tokens';
import { serverSecret } from '../../src/sql/server-secrets';

let t: TokenApp;
let wf: number;
const V1 = '/api/v1';

beforeAll(async () => {
  t = await startTokenApp();
  wf = (await t.call('POST', `${V1}/bind`, { body: bindRequest('hostile-guards') })).body.workflow_id;
});
afterAll(async () => t?.close());

async function refused(
  expected: { status: number; code: string; field?: string },
  method: string,
  url: string,
  options: { body?: unknown; raw?: string; as?: string } = {},
) {
  const before = await tableCounts(t.db);
  const answer = await t.call(method, url, options);
  expect(answer.status, JSON.stringify(answer.body)).toBe(expected.status);
  expect(answer.body.error.code).toBe(expected.code);
  if (expected.field !== undefined) expect(answer.body.error.field).toBe(expected.field);
  expect(await tableCounts(t.db)).toEqual(before);
  return answer;
}

/** The bind request as JSON text with `marker` replaced by raw JSON text (escapes the serializer will not write). */
function bindText(marker: string, replacement: string, edit: (b: ReturnType<typeof bindRequest>) => void): string {
  const body = bindRequest(`hostile-${marker}-${Math.random()}`);
  edit(body);
  return JSON.stringify(body).replace(`"${marker}"`, replacement);
}

describe('text Postgres cannot store', () => {
  it.each([
    ['a task arg value', (b: any) => (b.tasks[0].op_args.verbose = 'MARK'), 'tasks[0].op_args.verbose'],
    ['an attribute value', (b: any) => (b.workflow.attributes = { a: 'MARK' }), 'workflow.attributes.a'],
    ['a workflow name', (b: any) => (b.workflow.name = 'MARK'), 'workflow.name'],
    [
      'a resource value (jsonb)',
      (b: any) => (b.tasks[0].compute_resources = { constraints: 'MARK' }),
      'tasks[0].compute_resources.constraints',
    ],
  ])('an unpaired surrogate in %s is 422 naming the field', async (_what, edit, field) => {
    const raw = bindText('MARK', '"x\\ud800y"', edit);
    await refused({ status: 422, code: 'unpaired_surrogate', field }, 'POST', `${V1}/bind`, { raw });
    const low = bindText('MARK', '"\\udc00"', edit);
    await refused({ status: 422, code: 'unpaired_surrogate', field }, 'POST', `${V1}/bind`, { raw: low });
  });

  it('a surrogate pair written as escapes is text and is stored', async () => {
    const raw = bindText('MARK', '"\\ud83d\\ude00"', (b: any) => (b.workflow.name = 'MARK'));
    const ok = await t.call('POST', `${V1}/bind`, { raw });
    expect(ok.status).toBe(200);
    const row = await t.db
      .selectFrom('workflow')
      .select('name')
      .where('id', '=', ok.body.workflow_id)
      .executeTakeFirstOrThrow();
    expect(row.name).toBe('😀');
  });

  it('an unpaired surrogate in a key is 422 too; NUL still is', async () => {
    const raw = bindText('MARK', '{"\\ud800":"v"}', (b: any) => (b.workflow.attributes = 'MARK'));
    await refused(
      { status: 422, code: 'unpaired_surrogate', field: 'workflow.attributes.\ud800' },
      'POST',
      `${V1}/bind`,
      { raw },
    );
    const nul = bindText('MARK', '"a\\u0000b"', (b: any) => (b.workflow.name = 'MARK'));
    await refused({ status: 422, code: 'nul_character', field: 'workflow.name' }, 'POST', `${V1}/bind`, { raw: nul });
  });

  it('a body that is not UTF-8 is 422 invalid_utf8, not silently replaced', async () => {
    const before = await tableCounts(t.db);
    const bytes = Buffer.concat([Buffer.from('{"user":"b'), Buffer.from([0xff, 0xfe]), Buffer.from('ob"}')]);
    const res = await t.app.request(`${V1}/workflows/${wf}/grants`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice-token-1', 'content-type': 'application/json' },
      body: bytes,
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'invalid_utf8', field: 'body' });
    expect(await tableCounts(t.db)).toEqual(before);
  });

  it("the wrapper's output tails are repaired, not refused (the report must not be lost)", async () => {
    const task = await t.db
      .selectFrom('task')
      .select('id')
      .where('workflow_id', '=', wf)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const { instanceId, batchId } = await launchInstance(t.db, wf, Number(task.id), '5');
    const token = mintJobToken(await serverSecret(t.db, 'job_token_key'), batchId);
    const running = await t.call('POST', `${V1}/task-instances/${instanceId}/running`, {
      body: { distributor_id: '5', nodename: 'n', process_id: 1 },
      as: token,
    });
    expect(running.status).toBe(200);
    const done = await t.call('POST', `${V1}/task-instances/${instanceId}/done`, {
      raw: '{"exit_code":0,"stdout_tail":"\\ude00 cut pair, NUL \\u0000 end"}',
      as: token,
    });
    expect(done).toEqual({ status: 200, body: { status: 'D' } });
  });
});

describe('__proto__ keys', () => {
  it('are refused by name wherever they appear, not dropped silently', async () => {
    const raw = bindText('MARK', '{"__proto__":"x","b":"y"}', (b: any) => (b.workflow.attributes = 'MARK'));
    await refused({ status: 422, code: 'reserved_key', field: 'workflow.attributes.__proto__' }, 'POST', `${V1}/bind`, {
      raw,
    });
    await refused({ status: 422, code: 'reserved_key', field: '__proto__' }, 'POST', `${V1}/workflows/${wf}/grants`, {
      raw: '{"__proto__":{"user":"bob"}}',
    });
  });
});

describe('nesting depth', () => {
  const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
  it('deep JSON inside compute_resources on /bind is 413 too_deep with a readable field', async () => {
    const raw = bindText(
      'MARK',
      deep(MAX_JSON_DEPTH + 10),
      (b: any) => (b.tasks[0].compute_resources = { extra: 'MARK' }),
    );
    const answer = await refused({ status: 413, code: 'too_deep' }, 'POST', `${V1}/bind`, { raw });
    expect(answer.body.error.field).toMatch(/^tasks\[0\]\.compute_resources\.extra…\(\+\d+ levels\)$/);
  });

  it('on the chunk route too, and one level less is not too deep', async () => {
    const { tasks, ...spec } = bindRequest('hostile-depth-chunks');
    const id = (await t.call('POST', `${V1}/bind/drafts`, { body: spec })).body.draft_id;
    const raw = JSON.stringify({ tasks }).replace('"-v"', deep(MAX_JSON_DEPTH + 1));
    await refused({ status: 413, code: 'too_deep' }, 'POST', `${V1}/bind/drafts/${id}/tasks`, { raw });
    const shallow = JSON.stringify({ tasks }).replace('"-v"', deep(MAX_JSON_DEPTH - 6));
    const answer = await t.call('POST', `${V1}/bind/drafts/${id}/tasks`, { raw: shallow });
    expect(answer.status).toBe(422); // not an arg value: the schema names it, no overflow
    expect(answer.body.error.field).toBe('tasks[0].op_args.verbose');
  });
});

describe('integers bounded by their column', () => {
  it('a chunk offset past the int range is 422 naming offset', async () => {
    const { tasks, ...spec } = bindRequest('hostile-offset');
    const id = (await t.call('POST', `${V1}/bind/drafts`, { body: spec })).body.draft_id;
    await refused({ status: 422, code: 'invalid', field: 'offset' }, 'POST', `${V1}/bind/drafts/${id}/tasks`, {
      body: { tasks, offset: 2 ** 31 },
    });
  });

  it('exit_code and process_id past the int range are 422 naming them', async () => {
    const other = (await t.call('POST', `${V1}/bind`, { body: bindRequest('hostile-ints') })).body.workflow_id;
    const task = await t.db
      .selectFrom('task')
      .select('id')
      .where('workflow_id', '=', other)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const { instanceId } = await launchInstance(t.db, other, Number(task.id), '6');
    const url = `${V1}/task-instances/${instanceId}`;
    await refused({ status: 422, code: 'invalid', field: 'process_id' }, 'POST', `${url}/running`, {
      body: { distributor_id: '6', nodename: 'n', process_id: 2 ** 31 },
      as: 'root',
    });
    await refused({ status: 422, code: 'invalid', field: 'exit_code' }, 'POST', `${url}/error`, {
      body: { exit_code: 2 ** 31, error_state: 'E', message: 'x' },
      as: 'root',
    });
    await refused({ status: 422, code: 'invalid', field: 'tool.version_id' }, 'POST', `${V1}/bind`, {
      body: { ...bindRequest('hostile-version'), tool: { name: 'x', version_id: 2 ** 31 } },
    });
  });
});

describe('sizes', () => {
  it('an arg value that makes the command longer than the kernel can start is 422 at bind', async () => {
    const body = bindRequest('hostile-long-arg', { verbose: 'x'.repeat(140_000) });
    const answer = await refused({ status: 422, code: 'command_too_long', field: 'tasks[0]' }, 'POST', `${V1}/bind`, {
      body,
    });
    expect(answer.body.error.message).toMatch(/can never be started/);
    const fits = await t.call('POST', `${V1}/bind`, {
      body: bindRequest('hostile-long-ok', { verbose: 'x'.repeat(100_000) }),
    });
    expect(fits.status).toBe(200);
  });
});

describe('dates, ids and enums', () => {
  it.each(['0001-01-01T00:00:00Z', '+275760-09-13', '-000001-01-01', '10000-01-01'])(
    'a search date %s outside years 1–9999 is 422',
    async (d) => {
      const answer = await t.call('GET', `${V1}/search/workflows?from=${encodeURIComponent(d)}`);
      if (d.startsWith('0001')) expect(answer.status).toBe(200);
      else {
        expect(answer.status, JSON.stringify(answer.body)).toBe(422);
        expect(answer.body.error.field).toBe('from');
      }
    },
  );

  it.each(['0x5', ' 5', '5e0', '05', '5.0', '+5', '-5', '0'])('workflow id %j is 422, not read as 5', async (id) => {
    const answer = await t.call('GET', `${V1}/workflows/${encodeURIComponent(id)}/status`);
    expect(answer.status).toBe(422);
    expect(answer.body.error.field).toBe('id');
  });

  it.each(['0x5', '5e0', ' 5'])('query integer limit=%j is 422', async (limit) => {
    const answer = await t.call('GET', `${V1}/workflows?limit=${encodeURIComponent(limit)}`);
    expect(answer.status).toBe(422);
    expect(answer.body.error.field).toBe('limit');
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'status=%s is 422, not looked up through the prototype',
    async (status) => {
      for (const url of [
        `${V1}/search/workflows?status=${status}`,
        `${V1}/workflows?status=${status}`,
        `${V1}/workflows/${wf}/tasks?status=${status}`,
      ]) {
        const answer = await t.call('GET', url);
        expect(answer.status, url).toBe(422);
        expect(answer.body.error.field).toBe('status');
      }
    },
  );
});

describe('start-up errors', () => {
  it('a malformed JMT_TOKENS prints one line, no stack trace', () => {
    const main = path.join(__dirname, '../../src/api/main.ts');
    const run = spawnSync(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, JMT_TOKENS: 'short:alice:operator', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'jobmon API failed to start: JMT_TOKENS entry 1: token must be at least 8 characters',
    ]);
  });
});

describe('operator controls: nothing refused is written', () => {
  const auditRows = () =>
    t.db.selectFrom('workflow_event').select(['action', 'result']).where('workflow_id', '=', wf).execute();

  it('a refused control (503 Temporal down, 409 run_active) leaves every table as it was', async () => {
    await refused({ status: 503, code: 'temporal_unavailable' }, 'POST', `${V1}/workflows/${wf}/pause`);
    await refused({ status: 503, code: 'temporal_unavailable' }, 'POST', `${V1}/workflows/${wf}/stop`, { body: {} });
    await refused({ status: 503, code: 'temporal_unavailable' }, 'PUT', `${V1}/workflows/${wf}/concurrency`, {
      body: { limit: 3, template: 'nope' },
    });
    await refused({ status: 503, code: 'temporal_unavailable' }, 'POST', `${V1}/workflows/${wf}/runs`, { body: {} });
    expect(await auditRows()).toEqual([]);
  });

  it('an accepted control has exactly one audit row, settled ok', async () => {
    const other = (await t.call('POST', `${V1}/bind`, { body: bindRequest('audit-one') })).body.workflow_id as number;
    const answer = await t.call('POST', `${V1}/workflows/${other}/reset`, { body: {} });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const rows = await t.db
      .selectFrom('workflow_event')
      .select(['action', 'result'])
      .where('workflow_id', '=', other)
      .execute();
    expect(rows).toEqual([{ action: 'reset', result: 'ok' }]);
  });
});
