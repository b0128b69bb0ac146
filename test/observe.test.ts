/**
 * Observers and debuggers (issue 6) on the real stack: a multiprocess run with a task that always
 * fails (missing file), a task that hits a resource error once (reported the way a cluster's
 * accounting reports an OOM kill: a Z error callback for the running instance) and a blocked
 * downstream task. Then progress/ETA/risks, grouped errors, logs, DAG views, resource history,
 * search, and share links — through the API and the CLI.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../src/api/main';
import { parseTokens } from '../src/api/auth';
import { runCli } from '../src/cli/program';
import { loadTemplateResources } from '../src/client';
import { startTestStack, api, type TestStack } from './helpers/stack';
import { freePort } from './helpers/ports';
import { toolOn } from './e2e/helpers';

let stack: TestStack;
let scratch: string;
let wfId: number;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(
    args,
    { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } },
    { env: stack.env },
  );
  return { code, out, err };
}

beforeAll(async () => {
  stack = await startTestStack();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jmt-observe-'));
  // Attempt 1 of loc 6 is "killed for memory" by the cluster: the Z report arrives first, so the
  // wrapper's own later report is untimely and ignored; attempt 2 succeeds with +50 % memory.
  const oom = path.join(scratch, 'oom.js');
  writeFileSync(
    oom,
    `const [api, marker] = process.argv.slice(2);
const fs = require('node:fs');
if (fs.existsSync(marker)) { console.log('model done after retry'); process.exit(0); }
fs.writeFileSync(marker, 'x');
fetch(api + '/api/v1/task-instances/' + process.env.JMT_TASK_INSTANCE_ID + '/error', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error_state: 'Z', exit_code: 137, message: 'slurm: job 4242 OUT_OF_MEMORY: oom-kill event, exceeded memory limit on node c-12' }),
}).then(() => process.exit(137));`,
  );
  const tool = toolOn(stack, 'observe-tool');
  const prep = tool.getTaskTemplate({ templateName: 'prep', commandTemplate: 'echo prepared', nodeArgs: [] });
  const model = tool.getTaskTemplate({
    templateName: 'model',
    commandTemplate: `{cmd} {loc}`,
    nodeArgs: ['loc'],
    opArgs: ['cmd'],
  });
  const agg = tool.getTaskTemplate({ templateName: 'agg', commandTemplate: 'echo agg', nodeArgs: [] });
  const wf = tool.createWorkflow({
    workflowArgs: 'observe-run',
    name: 'observe-me',
    defaultClusterName: 'multiprocess',
    defaultComputeResources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' },
  });
  wf.addAttributes({ release: 'v7' });
  const p = prep.createTask({});
  const models = [1, 2, 3, 4, 5, 6].map((loc) => {
    let cmd = `sh -c 'echo model loc $0 ok; echo "progress 100%" >&2'`;
    if (loc === 5)
      cmd = `sh -c 'echo reading input >&2; echo "FileNotFoundError: [Errno 2] No such file or directory: /data/in/loc_$0.csv" >&2; exit 1'`;
    if (loc === 6) cmd = `${process.execPath} ${oom} ${stack.api.url} ${path.join(scratch, 'oom-marker')}`;
    return model.createTask({ loc, cmd, maxAttempts: 2, upstreamTasks: [p] });
  });
  wf.addTasks([p, ...models, agg.createTask({ upstreamTasks: models })]);
  const status = await wf.run({ progress: false });
  expect(status).toBe('E');
  wfId = wf.workflowId as number;
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('is it done yet', () => {
  it('reports counts, time, ETA basis and risks through the API', async () => {
    const p = await api<any>(stack, 'GET', `/workflows/${wfId}/progress`);
    expect(p.num_tasks).toBe(8);
    expect(p.counts.D).toBe(6);
    expect(p.counts.F).toBe(1);
    expect(p.counts.G).toBe(1);
    expect(p.run_active).toBe(false);
    expect(p.instances).toBe(9); // prep, 6 models, loc 5 twice, loc 6 twice … minus agg never run
    expect(p.wall_time_s).toBeGreaterThanOrEqual(0);
    const model = p.templates.find((t: any) => t.name === 'model');
    expect(model).toMatchObject({ total: 6, done: 5, fatal: 1, remaining: 0, basis: 'template_history' });
    expect(model.history_instances).toBe(5);
    const agg = p.templates.find((t: any) => t.name === 'agg');
    expect(agg.remaining).toBe(1);
    expect(agg.basis).toBe('requested_runtime'); // never ran anywhere: the request is the bound
    expect(p.eta.confidence).toBe('requested_runtime');
    const kinds = p.risks.map((r: any) => r.kind);
    expect(kinds).toContain('fatal_tasks');
    expect(p.summary).toMatch(/not running \(1 task failed\); 75 % done, 1 tasks left; \d risks?/);
  });

  it('prints the same in the CLI, and --json', async () => {
    const text = await cli(['workflow', 'progress', String(wfId)]);
    expect(text.code).toBe(0);
    expect(text.out).toContain('not running (1 task failed)');
    expect(text.out).toMatch(/model\s+6\s+5\s+0\s+1/);
    expect(text.out).toContain('risk (high): 1 task failed for good');
    const json = await cli(['workflow', 'progress', String(wfId), '--json']);
    expect(JSON.parse(json.out).workflow_id).toBe(wfId);
  });
});

describe('errors grouped', () => {
  it('groups by normalised pattern with help for missing files and out of memory', async () => {
    const g = await api<any>(stack, 'GET', `/workflows/${wfId}/error-groups`);
    expect(g.total_errors).toBe(3);
    const missing = g.groups.find((x: any) => x.help?.category === 'missing_file');
    expect(missing.count).toBe(2); // both attempts of loc 5, one pattern
    expect(missing.tasks).toBe(1);
    expect(missing.pattern).toContain('<path>');
    expect(missing.pattern).not.toMatch(/loc_5/);
    expect(missing.help.action).toMatch(/upstream/);
    const oom = g.groups.find((x: any) => x.help?.category === 'out_of_memory');
    expect(oom.count).toBe(1);
    expect(oom.instance_statuses).toEqual(['Z']);
    expect(oom.pattern).toContain('job <n> OUT_OF_MEMORY');
    const out = await cli(['workflow', 'errors', String(wfId), '--grouped']);
    expect(out.code).toBe(0);
    expect(out.out).toContain('3 errors in 2 groups');
    expect(out.out).toContain('Missing file');
    expect(out.out).toContain('Out of memory');
  });
});

describe('logs', () => {
  it('serves the recorded log file of an instance, tail and full; never a path from the request', async () => {
    const tasks = await api<any>(stack, 'GET', `/workflows/${wfId}/tasks?template=model&status=F`);
    const failed = tasks.tasks[0];
    const details = await api<any>(stack, 'GET', `/tasks/${failed.id}`);
    const ti = details.instances[0];
    const log = await api<any>(stack, 'GET', `/task-instances/${ti.id}/logs?stream=stderr&tail=1`);
    expect(log.source).toBe('file');
    expect(log.path).toBe(ti.stderr_path);
    expect(log.text.trim()).toBe('FileNotFoundError: [Errno 2] No such file or directory: /data/in/loc_5.csv');
    const full = await api<any>(stack, 'GET', `/task-instances/${ti.id}/logs?stream=stderr`);
    expect(full.text).toContain('reading input\n');
    const res = await fetch(`${stack.api.url}/api/v1/task-instances/${ti.id}/logs?stream=../../etc/passwd`);
    expect(res.status).toBe(422);
    const cliOut = await cli(['task', 'logs', String(ti.id), '--tail', '5']);
    expect(cliOut.out).toContain('FileNotFoundError');
    expect(cliOut.err).toContain(ti.stderr_path);
  });

  it('summarises a template’s last lines and what differs between failed and successful tasks', async () => {
    const s = await api<any>(stack, 'GET', `/workflows/${wfId}/templates/model/log-summary`);
    expect(s.failed).toBe(3);
    expect(s.succeeded).toBe(5);
    const only = s.differences.only_in_failed.map((d: any) => d.example);
    expect(only.some((l: string) => l.startsWith('FileNotFoundError'))).toBe(true);
    expect(s.stderr_last_lines[0].succeeded).toBe(4); // "progress 100%" of the 4 plain successes
    expect(s.differences.exit_codes_of_failed.some((e: any) => e.exit_code === 1)).toBe(true);
  });
});

describe('DAG', () => {
  it('answers upstream/downstream, paths to the failed task and the template graph', async () => {
    const agg = (await api<any>(stack, 'GET', `/workflows/${wfId}/tasks?template=agg`)).tasks[0];
    const deps = await api<any>(stack, 'GET', `/tasks/${agg.id}/dependencies?depth=2`);
    expect(deps.upstream.filter((t: any) => t.depth === 1)).toHaveLength(6);
    expect(deps.upstream.filter((t: any) => t.template === 'prep')).toHaveLength(1);
    expect(deps.downstream).toHaveLength(0);
    const fp = await api<any>(stack, 'GET', `/tasks/${agg.id}/failure-paths`);
    expect(fp.paths).toHaveLength(1);
    expect(fp.paths[0].path).toHaveLength(2);
    expect(fp.paths[0].failed_template).toBe('model');
    const dag = await api<any>(stack, 'GET', `/workflows/${wfId}/template-dag`);
    expect(dag.edges).toEqual([
      { from: 'model', to: 'agg', task_edges: 6 },
      { from: 'prep', to: 'model', task_edges: 6 },
    ]);
    expect(dag.nodes.find((n: any) => n.template === 'model').buckets).toMatchObject({ DONE: 5, FATAL: 1 });
    const text = await cli(['task', 'deps', String(agg.id), '--failed']);
    expect(text.out).toMatch(new RegExp(`^${agg.id} ← \\d+ .*\\[model\\] failed`, 'm'));
  });
});

describe('task-level DAG', () => {
  it('gives every task with status and level, the edges, and the paths to the failed task', async () => {
    const dag = await api<any>(stack, 'GET', `/workflows/${wfId}/task-dag`);
    expect(dag).toMatchObject({ workflow_id: wfId, limit: 300, num_tasks: 8, levels: 3, failed: 1 });
    expect(dag.buckets).toEqual({ PENDING: 1, SCHEDULED: 0, RUNNING: 0, DONE: 6, FATAL: 1 });
    expect(dag.tasks.map((t: any) => [t.template, t.level])).toEqual([
      ['prep', 0],
      ...Array.from({ length: 6 }, () => ['model', 1]),
      ['agg', 2],
    ]);
    const failed = dag.tasks.find((t: any) => t.status === 'F');
    expect(failed).toMatchObject({ template: 'model', status_label: 'ERROR_FATAL', bucket: 'FATAL' });
    expect(failed.blocked_by_failure).toBe(false); // failed itself, not waiting
    const agg = dag.tasks.find((t: any) => t.template === 'agg');
    expect(agg).toMatchObject({ status: 'G', bucket: 'PENDING', blocked_by_failure: true });
    expect(dag.blocked_by_failure).toBe(1);
    expect(Object.keys(dag.tasks[0]).sort()).toEqual(
      ['blocked_by_failure', 'bucket', 'id', 'level', 'name', 'status', 'status_label', 'template'].sort(),
    );
    expect(dag.edges).toHaveLength(12); // prep → 6 models → agg
    // Only the failed model's edge into agg is on a path to the failure; the DONE models' are not.
    expect(dag.edges.filter((e: any) => e.on_failure_path)).toEqual([
      { from: failed.id, to: agg.id, on_failure_path: true },
    ]);
    // The same paths the per-task route lists.
    const fp = await api<any>(stack, 'GET', `/tasks/${agg.id}/failure-paths`);
    expect(fp.paths.map((p: any) => p.failed_task_id)).toEqual([failed.id]);
  });

  it('prints levels, counts and edges in the CLI', async () => {
    const out = await cli(['workflow', 'dag', String(wfId)]);
    expect(out.code).toBe(0);
    expect(out.out).toContain(`workflow ${wfId}: 8 tasks in 3 templates; PENDING 1, DONE 6, FATAL 1`);
    expect(out.out).toMatch(/^LEVEL\s+TEMPLATE\s+TASKS\s+PENDING\s+SCHEDULED\s+RUNNING\s+DONE\s+FATAL\s+UPSTREAM/m);
    expect(out.out).toMatch(/^\s*0\s+prep\s+1\s+0\s+0\s+0\s+1\s+0\s+-$/m);
    expect(out.out).toMatch(/^\s*1\s+model\s+6\s+0\s+0\s+0\s+5\s+1\s+prep \(6\)$/m);
    expect(out.out).toMatch(/^\s*2\s+agg\s+1\s+1\s+0\s+0\s+0\s+0\s+model \(6\)$/m);
    expect(out.out).not.toContain('task edges');

    const tasks = await cli(['workflow', 'dag', String(wfId), '--tasks']);
    expect(tasks.code).toBe(0);
    expect(tasks.out).toContain(
      '8 tasks in 3 levels; PENDING 1, DONE 6, FATAL 1; 1 failed (✗), 1 waiting on a failed task (!)',
    );
    expect(tasks.out).toContain('12 task edges (1 on a path to a failed task, marked !)');
    const dag = await api<any>(stack, 'GET', `/workflows/${wfId}/task-dag`);
    const failed = dag.tasks.find((t: any) => t.status === 'F');
    const agg = dag.tasks.find((t: any) => t.template === 'agg');
    expect(tasks.out).toContain(`! ${failed.id} ${failed.name} → ${agg.id} ${agg.name}\n`);
    expect(tasks.out).toMatch(new RegExp(`^\\s*1\\s+${failed.id}\\s+.*F ERROR_FATAL ✗$`, 'm'));
    expect(tasks.out).toMatch(new RegExp(`^\\s*2\\s+${agg.id}\\s+.*G REGISTERING !$`, 'm'));
    expect(tasks.out.split('\n').filter((l) => / → /.test(l))).toHaveLength(12);
    const json = await cli(['workflow', 'dag', String(wfId), '--tasks', '--json']);
    expect(JSON.parse(json.out).edges).toHaveLength(12);
  });

  it('refuses a workflow over the limit with a 413 naming it; the template level still answers', async () => {
    const big = toolOn(stack, 'dag-limit-tool');
    const fan = big.getTaskTemplate({ templateName: 'fan', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const wf = big.createWorkflow({
      workflowArgs: 'dag-limit-301',
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(fan.createTasks({ i: Array.from({ length: 301 }, (_, i) => i) }));
    const bigId = await wf.bind();
    const res = await fetch(`${stack.api.url}/api/v1/workflows/${bigId}/task-dag`);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('task_dag_too_large');
    expect(body.error.message).toBe(
      `workflow ${bigId} has 301 tasks; the task-level DAG is drawn for workflows of at most 300 tasks (the template-level DAG shows any size)`,
    );
    expect((await api<any>(stack, 'GET', `/workflows/${bigId}/template-dag`)).nodes[0].total).toBe(301);
    const refused = await cli(['workflow', 'dag', String(bigId), '--tasks']);
    expect(refused.code).toBe(2);
    expect(refused.out).toBe('');
    expect(refused.err).toContain('at most 300 tasks');
    const templates = await cli(['workflow', 'dag', String(bigId)]);
    expect(templates.code).toBe(0);
    expect(templates.out).toContain(`workflow ${bigId}: 301 tasks in 1 template; PENDING 301`);
    expect((await fetch(`${stack.api.url}/api/v1/workflows/999999999/task-dag`)).status).toBe(404);
  });
});

describe('resources', () => {
  it('gives percentiles, a suggested request, CSV and a YAML the control script loads', async () => {
    const u = await api<any>(stack, 'GET', `/resources/usage?template=model&tool=observe-tool&confidence=0.9`);
    expect(u.instances).toBe(5);
    expect(u.runtime_s.n).toBe(5);
    expect(u.suggested.cores).toBe(1);
    expect(u.suggested.runtime).toBe('1m');
    const one = await api<any>(stack, 'GET', `/resources/usage?template=model&node_args=loc=2`);
    expect(one.instances).toBe(1);
    const out = path.join(scratch, 'res.yaml');
    const y = await cli(['resources', 'model', '--format', 'yaml', '-o', out]);
    expect(y.code).toBe(0);
    expect(loadTemplateResources(out, 'model')).toMatchObject({ queue: 'null.q', cores: 1, runtime: '1m' });
    const csv = await cli(['resources', 'model', '--format', 'csv']);
    expect(csv.out.split('\n')[0]).toContain('task_instance_id,task_id,workflow_id,node_args,wallclock_s');
    expect(csv.out.trim().split('\n')).toHaveLength(6);
    const table = await cli(['resources', 'model', '--node-arg', 'loc=1']);
    expect(table.out).toContain('model: 1 DONE instances with loc=1');
    const retries = await api<any>(stack, 'GET', `/workflows/${wfId}/resource-retries`);
    expect(retries.tasks).toBe(1);
    expect(retries.examples[0].current.memory).toBeGreaterThan(retries.examples[0].original.memory);
  });
});

describe('finding workflows', () => {
  it('filters by user, tool, attribute, args, template and dates; browses tools → templates', async () => {
    const q = (s: string) => api<any>(stack, 'GET', `/search/workflows?${s}`);
    expect((await q(`attribute=release=v7`)).workflows.map((w: any) => w.id)).toEqual([wfId]);
    expect((await q(`attribute=release=v8`)).total).toBe(0);
    expect((await q(`tool=observe-tool&template=model&workflow_args=observe`)).total).toBe(1);
    expect((await q(`user=!${stack.config.user}`)).total).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect((await q(`from=${today}&to=${today}&name=OBSERVE`)).total).toBe(1);
    const bad = await fetch(`${stack.api.url}/api/v1/search/workflows?from=yesterday`);
    expect(bad.status).toBe(422);
    const tools = await api<any>(stack, 'GET', '/tools');
    expect(tools.tools.find((t: any) => t.name === 'observe-tool').templates).toBe(3);
    const tpl = await api<any>(stack, 'GET', '/tools/observe-tool/templates');
    expect(tpl.templates.map((t: any) => t.name)).toEqual(['agg', 'model', 'prep']);
    const search = await cli(['workflow', 'search', '--attribute', 'release=v7', '--json']);
    expect(JSON.parse(search.out).total).toBe(1);
  });
});

describe('share links', () => {
  let secured: ApiServer;
  const OPERATOR = 'operator-token-1';
  const base = () => `${secured.url}/api/v1`;
  beforeAll(async () => {
    secured = await startApiServer({
      db: stack.database.db,
      config: stack.config,
      temporal: stack.temporal.client,
      auth: {
        mode: 'tokens',
        tokens: parseTokens(`${OPERATOR}:${stack.config.user}:operator,observer-token:someone:observer`),
      },
      port: await freePort(),
      host: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await secured?.close();
  });

  it('reads one workflow read-only, refuses writes and other workflows, and stops after revocation', async () => {
    const auth = { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' };
    const denied = await fetch(`${base()}/workflows/${wfId}/share`, {
      method: 'POST',
      headers: { authorization: 'Bearer observer-token', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(denied.status).toBe(403);
    const created = await fetch(`${base()}/workflows/${wfId}/share`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ expires_in_hours: 2 }),
    });
    expect(created.status).toBe(201);
    const share = (await created.json()) as { id: number; token: string; url: string };
    expect(share.url).toContain(`/ui/?share=${share.token}#/workflows/${wfId}`);
    const get = (p: string, init?: RequestInit) =>
      fetch(`${base()}${p}${p.includes('?') ? '&' : '?'}share=${share.token}`, init);
    expect((await get(`/workflows/${wfId}/progress`)).status).toBe(200);
    expect((await get(`/workflows/${wfId}/error-groups`)).status).toBe(200);
    const tasks = (await (await get(`/workflows/${wfId}/tasks`)).json()) as { tasks: { id: number }[] };
    expect((await get(`/tasks/${tasks.tasks[0].id}`)).status).toBe(200);
    const who = (await (await get('/whoami')).json()) as {
      role: string;
      share_workflow_id: number;
      may_operate: boolean;
    };
    expect(who).toMatchObject({ role: 'observer', share_workflow_id: wfId, may_operate: false });
    // Writes: 403, even on its own workflow.
    expect(
      (
        await get(`/workflows/${wfId}/stop`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(403);
    // Anything else: 403.
    const otherTool = toolOn(stack, 'observe-other');
    const otherWf = otherTool.createWorkflow({
      workflowArgs: 'other',
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    otherWf.addTasks([
      otherTool.getTaskTemplate({ templateName: 't', commandTemplate: 'true', nodeArgs: [] }).createTask({}),
    ]);
    const other = { id: await otherWf.bind() };
    expect((await get(`/workflows/${other.id}/progress`)).status).toBe(403);
    expect((await get('/search/workflows')).status).toBe(403);
    expect((await get('/tools')).status).toBe(403);
    // A cookie works the same way.
    expect(
      (await fetch(`${base()}/workflows/${wfId}/status`, { headers: { cookie: `jmt_share=${share.token}` } })).status,
    ).toBe(200);
    // Revoked: 401.
    const revoked = await fetch(`${base()}/shares/${share.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(revoked.status).toBe(200);
    const after = await get(`/workflows/${wfId}/progress`);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('share_revoked');
    expect((await fetch(`${base()}/workflows/${wfId}/progress?share=not-a-token`)).status).toBe(401);
  });

  it('prints a link from the CLI', async () => {
    const out = await cli(['workflow', 'share', String(wfId), '--expires-hours', '1']);
    expect(out.code).toBe(0);
    expect(out.out).toMatch(/\/ui\/\?share=[\w-]{43}#\/workflows\/\d+\n/);
    const list = await cli(['workflow', 'shares', String(wfId), '--json']);
    const shares = JSON.parse(list.out).shares;
    expect(shares.length).toBeGreaterThanOrEqual(2);
    const revoke = await cli(['share', 'revoke', String(shares[0].id)]);
    expect(revoke.out).toContain('revoked');
  });
});
