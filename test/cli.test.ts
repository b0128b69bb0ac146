/**
 * The `jmt` CLI against a fake HTTP API (a unit test of the CLI: parsing, requests it sends, the
 * tables and JSON it prints, and the exit-2 one-line errors). The real API is covered end to end
 * elsewhere. runCli is called in-process with captured stdout/stderr.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main';
import { apiError, FakeApi, fakeStatus } from './helpers/fake-api';

const statusBody = (input: Parameters<typeof fakeStatus>[0]) => ({ body: fakeStatus(input) });
import { freePort } from './helpers/ports';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let api: FakeApi;

async function jmt(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    ['--api-url', api.url, ...args],
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    { env },
  );
  return { code, stdout, stderr };
}

/** Exit 2 and exactly one line on stderr, nothing on stdout. */
function expectOneLineError(result: Result, pattern: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^jmt: /);
  expect(result.stderr).toMatch(pattern);
}

beforeAll(async () => {
  api = await new FakeApi().start();
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => {
  api.requests.length = 0;
});

describe('jmt workflow status', () => {
  beforeEach(() => {
    api.on(
      'GET',
      '/workflows/12/status',
      statusBody({
        workflowId: 12,
        name: 'burden',
        buckets: { PENDING: 10, SCHEDULED: 2, RUNNING: 3, DONE: 35, FATAL: 2 },
        run: { id: 4, status: 'R' },
        templates: [
          {
            name: 'model',
            max_concurrently_running: 5,
            buckets: { PENDING: 10, SCHEDULED: 2, RUNNING: 3, DONE: 35, FATAL: 2 },
          },
        ],
      }),
    );
    api.on(
      'GET',
      '/workflows/13/status',
      statusBody({ workflowId: 13, name: 'other', status: 'D', buckets: { DONE: 4 }, run: { id: 9, status: 'D' } }),
    );
  });

  it('prints Jobmon’s columns, one row per workflow, and the Temporal UI link', async () => {
    const r = await jmt(['workflow', 'status', '12', '13']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0].split(/\s+/)).toEqual([
      'WF_ID',
      'WF_NAME',
      'WF_STATUS',
      'TASKS',
      'PENDING',
      'SCHEDULED',
      'RUNNING',
      'DONE',
      'FATAL',
      '%DONE',
    ]);
    expect(lines[1].trim().split(/\s+/)).toEqual(['12', 'burden', 'RUNNING', '52', '10', '2', '3', '35', '2', '67']);
    expect(lines[2].trim().split(/\s+/)).toEqual(['13', 'other', 'DONE', '4', '0', '0', '0', '4', '0', '100']);
    // Columns line up: every row has its numbers ending where the header's column ends.
    expect(lines[1].length).toBe(lines[0].length);
    expect(r.stdout).toContain(
      'wf 12 run 4 R RUNNING: http://127.0.0.1:8233/namespaces/default/workflows/jobmon-wf-12',
    );
    expect(api.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /workflows/12/status',
      'GET /workflows/13/status',
    ]);
  });

  it('adds per-template rows with --templates', async () => {
    const r = await jmt(['workflow', 'status', '12', '--templates']);
    expect(r.code).toBe(0);
    const header = r.stdout.split('\n').find((l) => l.startsWith('WF_ID  TEMPLATE'));
    expect(header?.split(/\s+/)).toEqual([
      'WF_ID',
      'TEMPLATE',
      'MAX_RUNNING',
      'TASKS',
      'PENDING',
      'SCHEDULED',
      'RUNNING',
      'DONE',
      'FATAL',
      '%DONE',
    ]);
    expect(r.stdout).toMatch(/^\s*12\s+model\s+5\s+52\s+10\s+2\s+3\s+35\s+2\s+67$/m);
  });

  it('--json prints the API reports as { workflows: [...] }', async () => {
    const r = await jmt(['workflow', 'status', '12', '--json']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.workflows).toHaveLength(1);
    expect(parsed.workflows[0]).toMatchObject({
      workflow_id: 12,
      num_tasks: 52,
      buckets: { DONE: 35 },
      run: { id: 4, status: 'R' },
    });
  });

  it('a non-numeric id is exit 2 with one line, and nothing is sent', async () => {
    const r = await jmt(['workflow', 'status', 'abc']);
    expectOneLineError(r, /^jmt: workflow id must be a positive integer, got "abc"\n$/);
    expect(api.requests).toHaveLength(0);
  });

  it('an unknown id (API 404) is exit 2 with the API’s message', async () => {
    api.on('GET', '/workflows/99/status', apiError(404, 'not_found', 'workflow 99 not found'));
    const r = await jmt(['workflow', 'status', '99']);
    expectOneLineError(r, /^jmt: workflow 99 not found\n$/);
  });

  it('an unreachable API is exit 2 with one line telling how to start it', async () => {
    const port = await freePort(); // nothing listens there
    let stderr = '';
    let stdout = '';
    const code = await runCli(
      ['workflow', 'status', '1', '--api-url', `http://127.0.0.1:${port}`],
      {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
      },
      { env: {} },
    );
    expectOneLineError(
      { code, stdout, stderr },
      new RegExp(
        `^jmt: cannot reach the API at http://127\\.0\\.0\\.1:${port}: connection refused — start it with \`jmt up\`\\n$`,
      ),
    );
  });

  it('sends the bearer token from JMT_TOKEN', async () => {
    await jmt(['workflow', 'status', '12', '--json'], { JMT_TOKEN: 'secret-token' });
    expect(api.requests[0].headers.authorization).toBe('Bearer secret-token');
  });
});

describe('jmt workflow concurrency / stop / pause', () => {
  it('PUTs the limit and the template', async () => {
    api.on('PUT', '/workflows/12/concurrency', (req) => ({
      body: { workflow: 2_147_483_647, templates: { model: (req.body as { limit: number }).limit } },
    }));
    const r = await jmt(['workflow', 'concurrency', '12', '--limit', '5', '--template', 'model']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(api.calls('PUT', '/workflows/12/concurrency')[0].body).toEqual({ limit: 5, template: 'model' });
    expect(r.stdout).toBe('workflow 12: limit unlimited; templates: model=5\n');
  });

  it('PUTs only the limit for the whole workflow; 0 is allowed (pauses)', async () => {
    api.on('PUT', '/workflows/12/concurrency', { body: { workflow: 0, templates: {} } });
    const r = await jmt(['workflow', 'concurrency', '12', '--limit', '0', '--json']);
    expect(r.code).toBe(0);
    expect(api.calls('PUT', '/workflows/12/concurrency')[0].body).toEqual({ limit: 0 });
    expect(JSON.parse(r.stdout)).toEqual({ workflow: 0, templates: {} });
  });

  it('rejects a negative or non-numeric limit locally', async () => {
    expectOneLineError(
      await jmt(['workflow', 'concurrency', '12', '--limit', '-3']),
      /--limit must be a whole number ≥ 0, got "-3"/,
    );
    expectOneLineError(
      await jmt(['workflow', 'concurrency', '12', '--limit', 'x']),
      /--limit must be a whole number ≥ 0, got "x"/,
    );
    expect(api.requests).toHaveLength(0);
  });

  it('shows the API’s 422 message and field in one line', async () => {
    api.on(
      'PUT',
      '/workflows/12/concurrency',
      apiError(422, 'invalid', 'workflow 12 has no task template "nope"', 'template'),
    );
    const r = await jmt(['workflow', 'concurrency', '12', '--limit', '1', '--template', 'nope']);
    expectOneLineError(r, /^jmt: workflow 12 has no task template "nope" \(field: template\)\n$/);
  });

  it('stop drains by default and kills with --kill', async () => {
    api.on('POST', '/workflows/12/stop', { body: { workflow_id: 12, action: 'stop' } });
    expect((await jmt(['workflow', 'stop', '12'])).code).toBe(0);
    expect((await jmt(['workflow', 'stop', '12', '--kill'])).code).toBe(0);
    expect(api.calls('POST', '/workflows/12/stop').map((q) => q.body)).toEqual([{ mode: 'drain' }, { mode: 'kill' }]);
  });

  it('pause and unpause POST their routes', async () => {
    api.on('POST', '/workflows/12/pause', { body: { workflow_id: 12, action: 'pause' } });
    api.on('POST', '/workflows/12/unpause', { body: { workflow_id: 12, action: 'unpause' } });
    expect((await jmt(['workflow', 'pause', '12'])).stdout).toMatch(/^workflow 12: paused/);
    expect(JSON.parse((await jmt(['workflow', 'unpause', '12', '--json'])).stdout)).toEqual({
      workflow_id: 12,
      action: 'unpause',
    });
  });

  it('a conflict (409) is exit 2 with the API’s message', async () => {
    api.on('POST', '/workflows/12/pause', apiError(409, 'no_active_run', 'workflow 12 has no active run'));
    expectOneLineError(await jmt(['workflow', 'pause', '12']), /^jmt: workflow 12 has no active run\n$/);
  });
});

describe('jmt workflow resume / start', () => {
  const started = {
    workflow_run_id: 5,
    temporal_workflow_id: 'jobmon-wf-12',
    temporal_run_id: 'r',
    temporal_ui_url: 'http://ui/wf-12',
  };

  it('resumes cold by default (as every client does), hot with --hot, and says which', async () => {
    api.on('POST', '/workflows/12/runs', { status: 201, body: started });
    const cold = await jmt(['workflow', 'resume', '12']);
    expect(cold.code).toBe(0);
    expect(cold.stdout).toContain('run 5 started (cold resume: jobs an earlier run left running are stopped');
    expect(cold.stdout).toContain('Temporal UI: http://ui/wf-12');
    const hot = await jmt(['workflow', 'resume', '12', '--hot']);
    expect(hot.stdout).toContain('run 5 started (hot resume');
    await jmt(['workflow', 'resume', '12', '--reset-running']);
    await jmt(['workflow', 'start', '12', '--json']);
    expect(api.calls('POST', '/workflows/12/runs').map((q) => q.body)).toEqual([
      { resume_mode: 'cold', fail_fast: false },
      { resume_mode: 'hot', fail_fast: false },
      { resume_mode: 'cold', fail_fast: false },
      { resume_mode: 'cold', fail_fast: false },
    ]);
    const both = await jmt(['workflow', 'resume', '12', '--hot', '--reset-running']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--hot and --reset-running contradict/);
  });

  it('--wait exits 0 when the run ends DONE and 1 when it ends in ERROR', async () => {
    api.on('POST', '/workflows/12/runs', { status: 201, body: started });
    api.on(
      'GET',
      '/workflows/12/status',
      statusBody({ workflowId: 12, status: 'D', buckets: { DONE: 3 }, run: { id: 5, status: 'D' } }),
    );
    const done = await jmt(['workflow', 'resume', '12', '--wait']);
    expect(done.code).toBe(0);
    expect(done.stdout).toBe('workflow 12: run 5 finished D DONE\n');
    expect(done.stderr).toContain('[wf 12] 3/3 done, 0 running, 0 failed (100%)');

    api.on(
      'GET',
      '/workflows/12/status',
      statusBody({ workflowId: 12, status: 'F', buckets: { DONE: 2, FATAL: 1 }, run: { id: 5, status: 'E' } }),
    );
    const failed = await jmt(['workflow', 'resume', '12', '--wait', '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ workflow_run_id: 5, final_status: 'E' });
  });

  it('a run already active is exit 2 with the API’s message', async () => {
    api.on('POST', '/workflows/12/runs', apiError(409, 'run_active', 'workflow 12 already has an active run (run 4)'));
    expectOneLineError(
      await jmt(['workflow', 'resume', '12']),
      /^jmt: workflow 12 already has an active run \(run 4\)\n$/,
    );
  });
});

describe('jmt workflow list / tasks', () => {
  it('list passes filters and prints labels', async () => {
    api.on('GET', '/workflows', {
      body: {
        workflows: [
          {
            id: 3,
            name: 'burden',
            tool: 'tool',
            user: 'alice',
            status: 'R',
            created_date: '2026-11-25T10:00:00Z',
            num_tasks: 10,
            percent_done: 40,
          },
        ],
      },
    });
    const r = await jmt(['workflow', 'list', '--user', 'alice', '--status', 'running,F', '--limit', '7']);
    expect(r.code).toBe(0);
    const q = api.calls('GET', '/workflows')[0].query;
    expect(Object.fromEntries(q)).toEqual({ user: 'alice', status: 'R,F', limit: '7' });
    expect(r.stdout.split('\n')[1].trim().split(/\s+/)).toEqual([
      '3',
      'burden',
      'tool',
      'alice',
      'RUNNING',
      '2026-11-25T10:00:00Z',
      '10',
      '40',
    ]);
  });

  it('list rejects an unknown status locally', async () => {
    expectOneLineError(await jmt(['workflow', 'list', '--status', 'BOGUS']), /unknown workflow status "BOGUS"/);
  });

  it('tasks passes status buckets, template, attribute and paging', async () => {
    api.on('GET', '/workflows/12/tasks', {
      body: {
        tasks: [{ id: 40, name: 'model_loc-1', template: 'model', status: 'F', num_attempts: 3, max_attempts: 3 }],
        total: 9,
      },
    });
    const r = await jmt([
      'workflow',
      'tasks',
      '12',
      '--status',
      'fatal,E',
      '--template',
      'model',
      '--attribute',
      'stage=2',
      '--limit',
      '1',
    ]);
    expect(r.code).toBe(0);
    expect(Object.fromEntries(api.calls('GET', '/workflows/12/tasks')[0].query)).toEqual({
      status: 'FATAL,E',
      template: 'model',
      attribute: 'stage=2',
      limit: '1',
      offset: '0',
    });
    expect(r.stdout).toMatch(/^\s*40\s+model_loc-1\s+model\s+F ERROR_FATAL\s+3\/3$/m);
    expect(r.stdout).toContain('tasks 1–1 of 9');
  });

  it('tasks validates --attribute and --limit locally', async () => {
    expectOneLineError(
      await jmt(['workflow', 'tasks', '12', '--attribute', 'novalue']),
      /--attribute must look like key=value/,
    );
    expectOneLineError(
      await jmt(['workflow', 'tasks', '12', '--limit', '0']),
      /--limit must be a positive integer, got "0"/,
    );
  });
});

describe('jmt task status', () => {
  it('prints the task and its instances', async () => {
    api.on('GET', '/tasks/40', {
      body: {
        task: {
          id: 40,
          workflow_id: 12,
          name: 'model_loc-1',
          template: 'model',
          status: 'F',
          status_label: 'ERROR_FATAL',
          status_date: '2026-11-25T10:00:00Z',
          command: 'python model.py --loc 1',
          num_attempts: 1,
          max_attempts: 1,
          node_args: { loc: '1' },
          task_args: {},
          op_args: {},
          cluster_name: 'multiprocess',
          queue: 'null.q',
          resources: {},
          upstream_count: 0,
          upstream_remaining: 0,
          attributes: {},
        },
        instances: [
          {
            id: 77,
            workflow_run_id: 5,
            status: 'Z',
            status_label: 'RESOURCE_ERROR',
            distributor_id: '4242',
            nodename: 'node-1',
            exit_code: 137,
            wallclock_s: 12.34,
            maxrss_bytes: 2 * 1024 ** 3,
            stdout_path: '/logs/o.txt',
            stderr_path: '/logs/e.txt',
            submitted_date: null,
            status_date: '2026-11-25T10:00:00Z',
            errors: [{ error_time: '2026-11-25T10:00:00Z', description: 'killed: out of memory\ndetails' }],
          },
        ],
      },
    });
    const r = await jmt(['task', 'status', '40']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('task 40 model_loc-1 (template model, workflow 12): F ERROR_FATAL, attempts 1/1');
    expect(r.stdout).toMatch(
      /^TI_ID\s+STATUS\s+DISTRIBUTOR_ID\s+NODE\s+EXIT\s+WALL_S\s+MAX_RSS\s+STDOUT\s+STDERR\s+LAST_ERROR$/m,
    );
    expect(r.stdout).toMatch(
      /^\s*77\s+Z RESOURCE_ERROR\s+4242\s+node-1\s+137\s+12\.3\s+2\.0G\s+\/logs\/o\.txt\s+\/logs\/e\.txt\s+killed: out of memory$/m,
    );
    const json = JSON.parse((await jmt(['task', 'status', '40', '--json'])).stdout);
    expect(json.tasks[0].instances[0].id).toBe(77);
  });

  it('an unknown task id is exit 2 with the API’s message', async () => {
    api.on('GET', '/tasks/41', apiError(404, 'not_found', 'task 41 not found'));
    expectOneLineError(await jmt(['task', 'status', '41']), /^jmt: task 41 not found\n$/);
  });
});

describe('jmt bind', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'jmt-cli-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('binds a JSON file through draft, task chunks and commit and prints the workflow id', async () => {
    api.on('POST', '/bind/drafts', { status: 201, body: { draft_id: 'd-1' } });
    api.on('POST', '/bind/drafts/d-1/tasks', (req) => ({
      body: { received: (req.body as { tasks: unknown[] }).tasks.length, total: 0 },
    }));
    api.on('POST', '/bind/drafts/d-1/commit', {
      body: { workflow_id: 31, status: 'G', newly_created: true, num_tasks: 2 },
    });
    const file = path.join(dir, 'wf.json');
    const request = {
      tool: { name: 'tool' },
      workflow: { workflow_args: 'a' },
      task_templates: [{ name: 't', command_template: 'echo {x}', node_args: ['x'] }],
      tasks: [
        { key: 'a', template: 't', node_args: { x: 1 } },
        { key: 'b', template: 't', node_args: { x: 2 }, upstream: ['a'] },
      ],
    };
    await writeFile(file, JSON.stringify(request));
    const r = await jmt(['bind', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^workflow 31 bound: 2 tasks/);
    expect(api.calls('POST', '/bind/drafts')[0].body).toEqual({
      tool: request.tool,
      workflow: request.workflow,
      task_templates: request.task_templates,
    });
    expect(api.calls('POST', '/bind/drafts/d-1/tasks')[0].body).toEqual({ tasks: request.tasks, offset: 0 });
    expect(api.calls('POST', '/bind/drafts/d-1/commit')).toHaveLength(1);
  });

  it('a missing file or bad JSON is exit 2 with one line', async () => {
    expectOneLineError(await jmt(['bind', path.join(dir, 'nope.json')]), /cannot read .*nope\.json: no such file/);
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{ not json');
    expectOneLineError(await jmt(['bind', bad]), /bad\.json is not valid JSON/);
    await writeFile(bad, '{"tool": {"name": "t"}, "workflow": {}, "task_templates": []}');
    expectOneLineError(await jmt(['bind', bad]), /"tasks" must be a list/);
  });
});

describe('usage errors', () => {
  it('unknown commands and options are exit 2 with one line', async () => {
    expectOneLineError(await jmt(['workflow', 'stauts', '1']), /unknown command 'stauts'/);
    expectOneLineError(await jmt(['workflow', 'status', '1', '--bogus']), /unknown option '--bogus'/);
    expectOneLineError(await jmt(['workflow', 'concurrency', '1']), /required option '--limit <n>' not specified/);
  });

  it('a bad --api-url is exit 2 with one line', async () => {
    let stderr = '';
    const code = await runCli(
      ['--api-url', 'not a url', 'workflow', 'status', '1'],
      { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) } },
      { env: {} },
    );
    expect(code).toBe(2);
    expect(stderr).toBe('jmt: --api-url must be an http(s) URL, got "not a url"\n');
  });

  it('--help exits 0', async () => {
    const r = await jmt(['workflow', 'status', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: jmt workflow status');
  });
});
