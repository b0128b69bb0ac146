/**
 * Hostile input against the real API (Postgres, Temporal, a worker, the multiprocess distributor):
 * body size and nesting limits on every route (chunked bodies too), Unicode and control characters
 * in names, SQL and shell metacharacters carried through a real run without side effects, log
 * reads that cannot be pointed at other files, and share links that cannot be widened or replayed.
 * The schema-driven fuzzing is test/fuzz/schemathesis.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIND_BODY_LIMIT, DEFAULT_BODY_LIMIT } from '../src/api/app';
import { MAX_JSON_DEPTH } from '../src/api/input-guards';
import { runCli } from '../src/cli/main';
import { chromium } from 'playwright-core';
import { startTestStack, type TestStack } from './helpers/stack';
import { waitFor } from './helpers/wait';

const CHROMIUM = '/usr/bin/chromium';
let stack: TestStack;
let scratch: string;

beforeAll(async () => {
  stack = await startTestStack();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jmt-hostile-'));
});
afterAll(async () => {
  await stack?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: any; // JSON of many shapes, read field by field in the assertions
  text: string;
}

async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.api.url}/api/v1${route}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text } as Answer;
}

/**
 * A raw request on an exact path, optionally with a body of `bodyBytes` (whitespace then `{}`)
 * written in 64 KiB pieces: chunked (no Content-Length) unless `contentLength`. The server may
 * answer 413 and close while the body is still being written: the answer is what counts.
 */
function rawRequest(
  method: string,
  rawPath: string,
  options: { bodyBytes?: number; contentLength?: boolean; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(stack.api.url);
  const piece = Buffer.alloc(64 * 1024, 0x20); // whitespace: valid JSON padding
  const pieces = Math.ceil((options.bodyBytes ?? 0) / piece.length);
  const total = pieces * piece.length + 2;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: rawPath,
        // Node's default agent keeps connections alive: after a refused body the server must
        // close the connection (Connection: close), or the next request on it fails or hangs.
        headers: {
          ...(options.bodyBytes === undefined
            ? {}
            : options.contentLength
              ? { 'content-type': 'application/json', 'content-length': String(total) }
              : { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, text });
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    if (options.bodyBytes === undefined) {
      req.end();
      return;
    }
    let sent = 0;
    const pump = (): void => {
      while (sent < pieces) {
        sent++;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end('{}');
    };
    pump();
  });
}

const RESOURCES = { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' };

function bindBody(overrides: {
  tool?: string;
  workflow?: Record<string, unknown>;
  templateName?: string;
  command?: string;
  nodeArgs?: string[];
  tasks?: Record<string, unknown>[];
}) {
  return {
    tool: { name: overrides.tool ?? `hostile-${randomUUID().slice(0, 8)}` },
    workflow: {
      workflow_args: randomUUID(),
      default_cluster_name: 'multiprocess',
      default_compute_resources: RESOURCES,
      ...overrides.workflow,
    },
    task_templates: [
      {
        name: overrides.templateName ?? 't',
        command_template: overrides.command ?? 'true {x}',
        node_args: overrides.nodeArgs ?? ['x'],
        task_args: [],
        op_args: [],
      },
    ],
    tasks: overrides.tasks ?? [{ key: 'a', template: overrides.templateName ?? 't', node_args: { x: 1 } }],
  };
}

async function bind(body: ReturnType<typeof bindBody>): Promise<number> {
  const res = await call('POST', '/bind', body);
  expect(res.status, res.text).toBeLessThan(300);
  return res.body.workflow_id as number;
}

async function runToEnd(workflowId: number): Promise<string> {
  const started = await call('POST', `/workflows/${workflowId}/runs`, {});
  expect(started.status, started.text).toBe(201);
  return waitFor(
    async () => {
      const s = await call('GET', `/workflows/${workflowId}/status`);
      return ['D', 'F', 'E', 'H', 'S'].includes(s.body?.status) ? (s.body.status as string) : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250, what: `workflow ${workflowId} to finish` },
  );
}

async function taskIds(workflowId: number): Promise<number[]> {
  const res = await call('GET', `/workflows/${workflowId}/tasks?limit=1000`);
  return (res.body.tasks as { id: number }[]).map((t) => t.id);
}

function expectError(res: Answer, status: number, field?: string | RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(typeof res.body?.error?.code).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(0);
  if (field instanceof RegExp) expect(res.body.error.field).toMatch(field);
  else if (field !== undefined) expect(res.body.error.field).toBe(field);
}

describe('body size and nesting limits', () => {
  it('refuses an over-limit body on every write route, with and without Content-Length', async () => {
    const doc = (await (await fetch(`${stack.api.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes: { method: string; route: string }[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (['post', 'put', 'delete', 'patch'].includes(method))
          routes.push({ method: method.toUpperCase(), route: p.replace(/\{[^}]+\}/g, '1') });
      }
    }
    expect(routes.length).toBeGreaterThan(15);
    for (const { method, route } of routes) {
      const isBind = route === '/api/v1/bind' || route.startsWith('/api/v1/bind/');
      if (isBind) continue; // 32 MiB: one route below, not all of them
      const bodyBytes = DEFAULT_BODY_LIMIT + 64 * 1024;
      const withLength = await rawRequest(method, route, { bodyBytes, contentLength: true });
      expectError(withLength, 413, 'body');
      const chunked = await rawRequest(method, route, { bodyBytes });
      expectError(chunked, 413, 'body');
    }
    const bigBind = await rawRequest('POST', '/api/v1/bind', { bodyBytes: BIND_BODY_LIMIT + 64 * 1024 });
    expectError(bigBind, 413, 'body');
    expect(bigBind.body.error.message).toMatch(/32 MiB/);
  });

  it(`refuses JSON nested more than ${MAX_JSON_DEPTH} levels, naming where`, async () => {
    // Built as text: JSON.stringify itself overflows on 100,000 levels.
    const deep = '['.repeat(100_000) + '"leaf"' + ']'.repeat(100_000);
    const body = bindBody({ workflow: { default_compute_resources: { queue: 'null.q', extra: 'DEEP' } } });
    // Bind bodies too (compute_resources is an open map): 413 too_deep naming where, readably.
    const res = await call('POST', '/bind', JSON.stringify(body).replace('"DEEP"', deep));
    expectError(res, 413, /^workflow\.default_compute_resources\.extra(\[0\])*…\(\+\d+ levels\)$/);
    // Every other route: 413 too_deep naming where the limit was crossed.
    const setStatus = { status: 'D', node_args: { x: 'DEEP' }, dry_run: true };
    const deepRes = await call(
      'POST',
      '/workflows/1/tasks/set-status',
      JSON.stringify(setStatus).replace('"DEEP"', deep),
    );
    expectError(deepRes, 413, /^node_args\.x\[0\]\[0\]…\(\+\d+ levels\)$/);
    expect(deepRes.body.error.code).toBe('too_deep');
    const bare = await call('POST', '/workflows/1/pause', '['.repeat(5000) + ']'.repeat(5000));
    expectError(bare, 413, /^\[0\]\[0\]\[0\]\[0\]…\(\+\d+ levels\)$/);
    // Nesting within the limit is not refused for its depth.
    let ok: unknown = 'leaf';
    for (let i = 0; i < 10; i++) ok = { k: ok };
    const fine = await call('POST', '/bind', bindBody({ workflow: { default_compute_resources: { ...RESOURCES } } }));
    expect(fine.status, fine.text).toBeLessThan(300);
    const tenDeep = await call('POST', '/bind', { ...bindBody({}), tasks: [ok] });
    expect(tenDeep.status).toBe(422); // a task that is not a TaskSpec: shape, not depth
  });

  it('answers malformed JSON and over-long query strings with the error shape', async () => {
    expectError(await call('POST', '/bind', '{"tool":'), 400, 'body');
    const long = await call('GET', `/search/workflows?attribute=${encodeURIComponent('熢'.repeat(2000))}`);
    expectError(long, 431, 'query');
  });
});

describe('Unicode and control characters', () => {
  const EMOJI = '👩‍🔬🧬';
  const RTL = 'שלום-עולם';
  const COMBINING = 'e\u0301\u0308';
  const CONTROL = 'bell\u0007tab\tnl\nend';

  it('stores names, attributes and args verbatim and reads them back unchanged', async () => {
    const taskName = `${EMOJI}${RTL}${COMBINING}`;
    const workflowName = `${EMOJI} ${RTL} ${COMBINING} ${CONTROL}`;
    const body = bindBody({
      tool: `tool-${EMOJI}-${randomUUID().slice(0, 6)}`,
      templateName: `tpl-${RTL}`,
      workflow: {
        name: workflowName,
        description: CONTROL,
        attributes: { [`${RTL}-key`]: `${EMOJI}${CONTROL}` },
      },
      tasks: [
        {
          key: 'a',
          template: `tpl-${RTL}`,
          name: taskName,
          node_args: { x: `${COMBINING}${EMOJI}` },
          attributes: { [EMOJI]: CONTROL },
        },
      ],
    });
    const id = await bind(body);
    const status = await call('GET', `/workflows/${id}/status`);
    expect(status.body.name).toBe(workflowName);
    expect(status.body.tool).toBe(body.tool.name);
    const [taskId] = await taskIds(id);
    const task = await call('GET', `/tasks/${taskId}`);
    expect(task.body.task.name).toBe(taskName);
    expect(task.body.task.template).toBe(`tpl-${RTL}`);
    expect(task.body.task.node_args).toEqual({ x: `${COMBINING}${EMOJI}` });
    expect(task.body.task.attributes).toEqual({ [EMOJI]: CONTROL });
    expect(task.body.task.command).toBe(`true ${COMBINING}${EMOJI}`);
    const attr = await call(
      'GET',
      `/search/workflows?attribute=${encodeURIComponent(`${RTL}-key=${EMOJI}${CONTROL}`)}`,
    );
    expect(attr.status, attr.text).toBe(200);
    expect(JSON.stringify(attr.body)).toContain(`"id":${id}`);
  });

  it('refuses NUL anywhere with a 422 naming the field, never a 500', async () => {
    const cases: [unknown, string][] = [
      [bindBody({ workflow: { name: 'a\u0000b' } }), 'workflow.name'],
      [bindBody({ workflow: { attributes: { 'k\u0000': 'v' } } }), 'workflow.attributes.k\u0000'],
      [bindBody({ workflow: { attributes: { k: 'v\u0000' } } }), 'workflow.attributes.k'],
      [bindBody({ tool: 'to\u0000ol' }), 'tool.name'],
      [bindBody({ tasks: [{ key: 'a', template: 't', name: 'n\u0000', node_args: { x: 1 } }] }), 'tasks[0].name'],
      [bindBody({ tasks: [{ key: 'a', template: 't', node_args: { x: '\u0000' } }] }), 'tasks[0].node_args.x'],
      [bindBody({ command: 'echo \u0000{x}' }), 'task_templates[0].command_template'],
    ];
    for (const [body, field] of cases) expectError(await call('POST', '/bind', body), 422, field);
    expectError(await call('GET', '/workflows?name=a%00b'), 422, 'name');
    expectError(await call('GET', '/search/workflows?user=%00'), 422, 'user');
    expectError(await call('GET', '/workflows?=%00'), 422, 'query');
    expectError(await call('GET', '/workflows?a%00=1'), 422, 'query');
    expectError(await call('GET', '/tools/a%00b/templates'), 422, 'path');
    expectError(await call('POST', '/workflows/1/grants', { user: 'bo\u0000b' }), 422, 'user');
  });
});

describe('SQL and shell metacharacters', () => {
  it('carries them through a real run verbatim, and only the command reaches a shell', async () => {
    const marker = (what: string) => path.join(scratch, `pwned-${what}`);
    const hostile = (what: string) =>
      `'; DROP TABLE task; -- $(touch ${marker(what)}) \`touch ${marker(`${what}-bt`)}\` | touch ${marker(`${what}-pipe`)} && touch ${marker(`${what}-and`)}\nline2`;
    // Task names may not contain / ' " or spaces (Jobmon's rule): the shell-active parts that fit.
    const taskName = `x;touch\${IFS}pwned-name|id&&\`id\`$(id)`;
    const argValue = `$(touch ${marker('arg')}) \`touch ${marker('arg-bt')}\`; touch ${marker('arg-semi')}`;
    const body = bindBody({
      tool: `tool-${randomUUID().slice(0, 6)}`,
      templateName: 'echo_arg',
      // The arg is single-quoted by the template's author: the shell must print it, not run it.
      command: `printf '%s' '{x}'`,
      workflow: {
        name: hostile('wfname'),
        description: hostile('desc'),
        workflow_args: `${hostile('wfargs')}-${randomUUID()}`,
        attributes: { [hostile('attrkey')]: hostile('attrval') },
      },
      tasks: [
        {
          key: hostile('key'),
          template: 'echo_arg',
          name: taskName,
          node_args: { x: argValue },
          attributes: { k: hostile('taskattr') },
        },
      ],
    });
    const id = await bind(body);
    expect(await runToEnd(id)).toBe('D');

    const [taskId] = await taskIds(id);
    const task = await call('GET', `/tasks/${taskId}`);
    expect(task.body.task.name).toBe(taskName);
    expect(task.body.task.command).toBe(`printf '%s' '${argValue}'`);
    expect(task.body.task.attributes).toEqual({ k: hostile('taskattr') });
    const status = await call('GET', `/workflows/${id}/status`);
    expect(status.body.name).toBe(hostile('wfname'));
    expect(status.body.workflow_args).toBe(body.workflow.workflow_args);

    // The command printed the arg literally: nothing in it ran.
    const [instance] = task.body.instances as { id: number; stdout_path: string }[];
    const log = await call('GET', `/task-instances/${instance.id}/logs?stream=stdout`);
    expect(log.body.text).toBe(argValue);
    // The log file is named after the task, inside the workflow's log directory.
    expect(path.dirname(instance.stdout_path)).toBe(path.join(stack.config.logDir, `workflow-${id}`));
    expect(path.basename(instance.stdout_path)).toBe(`${taskName}.o${instance.id}`);

    // No marker file from any field; the task table is still there.
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(scratch)).toEqual([]);
    expect(existsSync(path.join(os.homedir(), 'pwned-name'))).toBe(false);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from task where workflow_id = ${id}`.execute(
      stack.database.db,
    );
    expect(rows[0].n).toBe(1);

    // The CLI prints the same strings (its tables do not evaluate them either).
    let stdout = '';
    const code = await runCli(
      ['--api-url', stack.api.url, 'task', 'status', String(taskId), '--json'],
      { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true } },
      { env: {} },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).tasks[0].task.name).toBe(taskName);
    expect(JSON.parse(stdout).tasks[0].task.command).toBe(`printf '%s' '${argValue}'`);
  });
});

describe('job output with NUL bytes', () => {
  it('is reported and stored (NUL shown as U+FFFD) for a job that succeeds and one that fails', async () => {
    const id = await bind(
      bindBody({
        // x=0 succeeds, x=1 fails: both print NUL bytes on stdout and stderr.
        command: `printf 'out\\000put'; printf 'err\\000or' >&2; exit {x}`,
        workflow: { default_max_attempts: 1 },
        tasks: [
          { key: 'ok', template: 't', node_args: { x: 0 } },
          { key: 'bad', template: 't', node_args: { x: 1 } },
        ],
      }),
    );
    expect(await runToEnd(id)).toBe('F');
    const rows = await sql<{ status: string; stdout_tail: string; stderr_tail: string; exit_code: number }>`
      select status, stdout_tail, stderr_tail, exit_code from task_instance where workflow_id = ${id} order by exit_code`.execute(
      stack.database.db,
    );
    expect(rows.rows.map((r) => [r.status, r.exit_code, r.stdout_tail, r.stderr_tail])).toEqual([
      ['D', 0, 'out\uFFFDput', 'err\uFFFDor'],
      ['E', 1, 'out\uFFFDput', 'err\uFFFDor'],
    ]);
  });
});

describe('markup in names', () => {
  it('is shown as text by the GUI, never run as HTML', async (ctx) => {
    if (!existsSync(CHROMIUM)) return ctx.skip(`${CHROMIUM} not installed`);
    // Task names may not contain spaces: a tab separates the attributes just as well in HTML.
    const taskName = '<img\tsrc=x\tonerror=window.__pwned=1>';
    const workflowName = '<script>window.__pwned=2</script><img src=x onerror="window.__pwned=3">';
    const id = await bind(
      bindBody({
        workflow: { name: workflowName },
        tasks: [{ key: 'a', template: 't', name: taskName, node_args: { x: 1 } }],
      }),
    );
    const [taskId] = await taskIds(id);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
    try {
      const page = await browser.newPage();
      for (const [route, text] of [
        [`#/workflows/${id}`, workflowName],
        [`#/tasks/${taskId}`, taskName.replace(/\t/g, ' ')],
      ]) {
        await page.goto(`${stack.api.url}/ui/${route}`);
        // innerText renders the tab as a space; the markup itself must appear as text.
        await waitFor(async () => (await page.locator('body').innerText()).replace(/\t/g, ' ').includes(text), {
          timeoutMs: 20_000,
          what: `${route} to show ${JSON.stringify(text)}`,
        });
        expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
        expect(await page.locator('img[src="x"]').count()).toBe(0);
      }
    } finally {
      await browser.close();
    }
  });
});

describe('log reads', () => {
  let workflowId: number;
  let instanceId: number;
  let stdoutPath: string;

  beforeAll(async () => {
    workflowId = await bind(bindBody({ command: 'echo secret-free-{x}' }));
    expect(await runToEnd(workflowId)).toBe('D');
    const [taskId] = await taskIds(workflowId);
    const task = await call('GET', `/tasks/${taskId}`);
    instanceId = task.body.instances[0].id;
    stdoutPath = task.body.instances[0].stdout_path;
  });

  it('serves the recorded file of the instance named by id, and nothing else', async () => {
    const log = await call('GET', `/task-instances/${instanceId}/logs?stream=stdout`);
    expect(log.body).toMatchObject({ source: 'file', path: stdoutPath, text: 'secret-free-1\n' });
    // The only inputs are the id and the stream; anything that looks like a path is refused.
    for (const route of [
      `/task-instances/${instanceId}/logs?stream=..%2F..%2F..%2Fetc%2Fpasswd`,
      `/task-instances/${instanceId}/logs?stream=%2Fetc%2Fpasswd`,
      `/task-instances/..%2F..%2Fetc%2Fpasswd/logs`,
      `/task-instances/%2e%2e%2f%2e%2e%2fetc%2fpasswd/logs`,
      `/task-instances/${instanceId}%2F..%2F..%2Fetc%2Fpasswd/logs`,
    ]) {
      const res = await rawRequest('GET', `/api/v1${route}`);
      expect([404, 422], `${route}: ${res.text}`).toContain(res.status);
      expect(res.text).not.toContain('root:');
    }
    // Unknown query parameters (a `path=`, `file=`) are ignored: still the instance's own log.
    const extra = await call(
      'GET',
      `/task-instances/${instanceId}/logs?stream=stdout&path=/etc/passwd&file=/etc/passwd`,
    );
    expect(extra.body.text).toBe('secret-free-1\n');
    // Dot segments are resolved by the URL before routing: they never reach a file name.
    const dots = await rawRequest('GET', `/api/v1/task-instances/${instanceId}/logs/../../../../etc/passwd`);
    expect(dots.status).toBe(404);
    expect(dots.text).not.toContain('root:');
  });

  it('refuses a log file replaced by a symlink and a recorded path that is not absolute', async () => {
    unlinkSync(stdoutPath);
    symlinkSync('/etc/passwd', stdoutPath);
    const viaLink = await call('GET', `/task-instances/${instanceId}/logs?stream=stdout`);
    expect(viaLink.status).toBe(200);
    expect(viaLink.body.source).not.toBe('file');
    expect(viaLink.text).not.toContain('root:');
    await sql`update task_instance set stdout_path = '../../../../etc/passwd' where id = ${instanceId}`.execute(
      stack.database.db,
    );
    const relative = await call('GET', `/task-instances/${instanceId}/logs?stream=stdout`);
    expect(relative.body.note).toMatch(/not absolute/);
    expect(relative.text).not.toContain('root:');
  });
});

describe('share links', () => {
  let a: number;
  let b: number;
  let token: string;
  let shareId: number;
  let taskOfB: number;

  beforeAll(async () => {
    a = await bind(bindBody({}));
    b = await bind(bindBody({}));
    [taskOfB] = await taskIds(b);
    const share = await call('POST', `/workflows/${a}/share`, {});
    expect(share.status, share.text).toBe(201);
    token = share.body.token;
    shareId = share.body.id;
  });

  const withShare = (route: string) => `/api/v1${route}${route.includes('?') ? '&' : '?'}share=${token}`;

  it('reads only its own workflow, and only reads', async () => {
    expect((await rawRequest('GET', withShare(`/workflows/${a}/status`))).status).toBe(200);
    for (const route of [
      `/workflows/${b}/status`,
      `/workflows/${b}/tasks`,
      `/tasks/${taskOfB}`,
      `/workflows`,
      `/search/workflows`,
      `/workflows/${a}/shares`,
      `/workflows/${a}/../${b}/status`,
      `/workflows/${a}/%2e%2e/${b}/status`,
      `/workflows/${a}/..%2F${b}/status`,
      `/workflows/${a}%2F..%2F${b}/status`,
      `/workflows/${b}/status?share=other`,
    ]) {
      const res = await rawRequest('GET', withShare(route));
      expect([401, 403, 404], `${route}: ${res.text}`).toContain(res.status);
    }
    for (const [method, route] of [
      ['POST', `/workflows/${a}/share`],
      ['POST', `/workflows/${a}/pause`],
      ['POST', `/workflows/${a}/runs`],
      ['DELETE', `/shares/${shareId}`],
      ['POST', `/workflows/${a}/grants`],
    ]) {
      const res = await rawRequest(method, withShare(route));
      expect(res.status, `${method} ${route}`).toBe(403);
      expect(res.body.error.code).toBe('share_read_only');
    }
    // The cookie form is held to the same scope.
    const cookie = await rawRequest('GET', `/api/v1/workflows/${b}/status`, {
      headers: { cookie: `jmt_share=${token}` },
    });
    expect(cookie.status).toBe(403);
  });

  it('is refused once expired', async () => {
    const share = await call('POST', `/workflows/${a}/share`, { expires_in_hours: 1 });
    expect((await rawRequest('GET', `/api/v1/workflows/${a}/status?share=${share.body.token}`)).status).toBe(200);
    await sql`update share_link set expires_date = now() - interval '1 second' where id = ${share.body.id}`.execute(
      stack.database.db,
    );
    const expired = await rawRequest('GET', `/api/v1/workflows/${a}/status?share=${share.body.token}`);
    expectError(expired, 401, 'share');
    expect(expired.body.error.code).toBe('share_expired');
  });

  it('is refused after revocation, by query and by cookie', async () => {
    const revoked = await call('DELETE', `/shares/${shareId}`);
    expect(revoked.status, revoked.text).toBe(200);
    const byQuery = await rawRequest('GET', withShare(`/workflows/${a}/status`));
    expectError(byQuery, 401, 'share');
    expect(byQuery.body.error.code).toBe('share_revoked');
    const byCookie = await rawRequest('GET', `/api/v1/workflows/${a}/status`, {
      headers: { cookie: `jmt_share=${token}` },
    });
    expect(byCookie.status).toBe(401);
    // Revoking again changes nothing and does not revive it.
    expect((await call('DELETE', `/shares/${shareId}`)).status).toBe(200);
    expect((await rawRequest('GET', withShare(`/workflows/${a}/status`))).status).toBe(401);
  });
});
