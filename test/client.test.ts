/**
 * The TypeScript client library against a fake HTTP API: task creation (kwargs checking, cross
 * products), chunked binding, and run() starting or attaching to a run and returning its final
 * status letter. The real API and Temporal are covered by the end-to-end tests.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Tool, type Workflow } from '../src/client';
import { loadConfig } from '../src/config';
import { apiError, FakeApi, fakeStatus, type FakeRequest } from './helpers/fake-api';

let api: FakeApi;
let stderr: string;

function tool(name = 'tool'): Tool {
  return new Tool(name, {
    config: loadConfig({ apiUrl: api.url, token: undefined }, {}),
    stderr: { write: (t: string) => (stderr += t) },
  });
}

function modelTemplate(t: Tool) {
  return t.getTaskTemplate({
    templateName: 'model',
    commandTemplate: 'python model.py --loc {location_id} --sex {sex} --year {year} {verbose}',
    nodeArgs: ['location_id', 'sex'],
    taskArgs: ['year'],
    opArgs: ['verbose'],
  });
}

/** Bind routes that accept any draft and count tasks, answering commit with `workflowId`. */
function acceptBinds(workflowId: number, newlyCreated = true): void {
  let total = 0;
  api.on('POST', '/bind/drafts', () => {
    total = 0;
    return { status: 201, body: { draft_id: 'draft-1' } };
  });
  api.on('POST', '/bind/drafts/draft-1/tasks', (req) => {
    const n = (req.body as { tasks: unknown[] }).tasks.length;
    total += n;
    return { body: { received: n, total } };
  });
  api.on('POST', '/bind/drafts/draft-1/commit', () => ({
    body: { workflow_id: workflowId, status: 'G', newly_created: newlyCreated, num_tasks: total },
  }));
}

beforeAll(async () => {
  api = await new FakeApi().start();
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => {
  api.requests.length = 0;
  stderr = '';
  api.on('GET', '/health', { body: { status: 'ok', database: 'ok', auth: 'local-single-user' } });
});

describe('TaskTemplate', () => {
  it('createTasks is the cross product of node args given as arrays', () => {
    const tasks = modelTemplate(tool()).createTasks({
      location_id: [1, 2, 3],
      sex: ['m', 'f'],
      year: 2026,
      verbose: '-v',
    });
    expect(tasks).toHaveLength(6);
    expect(tasks.map((t) => [t.nodeArgs.location_id, t.nodeArgs.sex])).toEqual([
      [1, 'm'],
      [1, 'f'],
      [2, 'm'],
      [2, 'f'],
      [3, 'm'],
      [3, 'f'],
    ]);
    expect(new Set(tasks.map((t) => t.key)).size).toBe(6);
    for (const t of tasks) expect(t.taskArgs).toEqual({ year: 2026 });
    // A node arg given as one value is one point on its axis.
    expect(modelTemplate(tool()).createTasks({ location_id: [1, 2], sex: 'm', year: 1, verbose: '' })).toHaveLength(2);
  });

  it('createTask rejects unknown and missing kwargs, naming them', () => {
    const model = modelTemplate(tool());
    expect(() => model.createTask({ location_id: 1, sex: 'm', year: 2026, verbose: '', locaton: 2, extra: 1 })).toThrow(
      /createTask for template "model": unknown arguments locaton, extra; the template's args are location_id \(node\), sex \(node\), year \(task\), verbose \(op\)/,
    );
    expect(() => model.createTask({ location_id: 1, sex: 'm', verbose: '' })).toThrow(/missing argument year/);
    expect(() => model.createTasks({ location_id: [1], sex: 'm', year: [2025, 2026], verbose: '' })).toThrow(
      /"year" is a task\/op arg and takes one value/,
    );
    expect(() => model.createTask({ location_id: { a: 1 }, sex: 'm', year: 1, verbose: '' })).toThrow(
      /"location_id" must be a string or a finite number/,
    );
  });

  it('task keys are stable, and 1 and "1" are the same task (Jobmon stores values as strings)', () => {
    const model = modelTemplate(tool());
    const a = model.createTask({ location_id: 1, sex: 'm', year: 1, verbose: '' });
    const b = model.createTask({ sex: 'm', location_id: '1', year: 2, verbose: '-v' });
    expect(a.key).toBe(b.key);
    expect(a.name).toBe('model_location_id-1_sex-m');
    const wf = tool().createWorkflow({ workflowArgs: 'x' });
    wf.addTask(a);
    expect(() => wf.addTask(b)).toThrow(/duplicate node args/);
  });

  it('rejects a command template naming an undeclared arg', () => {
    expect(() =>
      tool().getTaskTemplate({ templateName: 't', commandTemplate: 'echo {a} {b}', nodeArgs: ['a'] }),
    ).toThrow(/placeholder \{b\} is not declared/);
  });
});

describe('Workflow.bind', () => {
  function bigWorkflow(n: number): Workflow {
    const t = tool();
    const step = t.getTaskTemplate({ templateName: 'step', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const wf = t.createWorkflow({
      workflowArgs: 'big',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    const tasks = step.createTasks({ i: Array.from({ length: n }, (_, i) => i) });
    // A chain across chunk boundaries: upstream keys must resolve at commit, whichever chunk they came in.
    for (let i = 1; i < n; i++) tasks[i].addUpstream(tasks[i - 1]);
    wf.addTasks(tasks);
    return wf;
  }

  it('sends 12,000 tasks as three chunks of at most 5,000, then commits', async () => {
    acceptBinds(42);
    const wf = bigWorkflow(12_000);
    expect(await wf.bind()).toBe(42);
    expect(wf.workflowId).toBe(42);
    // Chunks go out concurrently, each with its offset: put them back in request order.
    const bodies = api
      .calls('POST', '/bind/drafts/draft-1/tasks')
      .map((r) => r.body as { tasks: { key: string; upstream: string[] }[]; offset: number })
      .sort((a, b) => a.offset - b.offset);
    expect(bodies.map((b) => b.offset)).toEqual([0, 5_000, 10_000]);
    const chunks = bodies.map((b) => b.tasks);
    expect(chunks.map((c) => c.length)).toEqual([5_000, 5_000, 2_000]);
    expect(api.calls('POST', '/bind/drafts/draft-1/commit')).toHaveLength(1);
    expect(chunks[1][0].upstream).toEqual([chunks[0][4_999].key]);
    const draft = api.calls('POST', '/bind/drafts')[0].body as Record<string, unknown>;
    expect(draft).toEqual({
      tool: { name: 'tool' },
      workflow: {
        workflow_args: 'big',
        name: null,
        description: null,
        attributes: {},
        max_concurrently_running: null,
        default_cluster_name: 'multiprocess',
        default_compute_resources: { queue: 'null.q' },
        default_resource_scales: null,
        default_max_attempts: null,
      },
      task_templates: [
        {
          name: 'step',
          command_template: 'echo {i}',
          node_args: ['i'],
          task_args: [],
          op_args: [],
          default_cluster_name: null,
          default_compute_resources: null,
          default_resource_scales: null,
          default_max_attempts: null,
          max_concurrently_running: null,
        },
      ],
    });
  });

  it('sends per-template limits, attributes and task settings in the contract’s shape', async () => {
    acceptBinds(7);
    const t = tool();
    const model = modelTemplate(t);
    const wf = t.createWorkflow({
      workflowArgs: 'w',
      workflowAttributes: { release: 'r1' },
      maxConcurrentlyRunning: 10,
    });
    const a = model.createTask({
      location_id: 1,
      sex: 'm',
      year: 1,
      verbose: '',
      maxAttempts: 2,
      computeResources: { queue: 'all.q', memory: '2G' },
      fallbackQueues: ['long.q'],
    });
    const b = model.createTask({
      location_id: 2,
      sex: 'm',
      year: 1,
      verbose: '',
      name: 'second',
      upstreamTasks: [a],
      taskAttributes: { stage: 2 },
    });
    wf.addTasks([a, b]);
    wf.setTaskTemplateMaxConcurrencyLimit('model', 3);
    await wf.bind();
    const draft = api.calls('POST', '/bind/drafts')[0].body as {
      workflow: Record<string, unknown>;
      task_templates: Record<string, unknown>[];
    };
    expect(draft.workflow).toMatchObject({ attributes: { release: 'r1' }, max_concurrently_running: 10 });
    expect(draft.task_templates[0].max_concurrently_running).toBe(3);
    const [specA, specB] = (
      api.calls('POST', '/bind/drafts/draft-1/tasks')[0].body as { tasks: Record<string, unknown>[] }
    ).tasks;
    expect(specA).toMatchObject({
      template: 'model',
      name: null,
      node_args: { location_id: 1, sex: 'm' },
      task_args: { year: 1 },
      op_args: { verbose: '' },
      max_attempts: 2,
      compute_resources: { queue: 'all.q', memory: '2G' },
      fallback_queues: ['long.q'],
      upstream: [],
    });
    expect(specB).toMatchObject({ name: 'second', upstream: [specA.key], attributes: { stage: 2 } });
  });

  it('refuses an upstream task that was not added to the workflow', async () => {
    const t = tool();
    const step = t.getTaskTemplate({ templateName: 'step', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const [a, b] = step.createTasks({ i: [1, 2] });
    b.addUpstream(a);
    const wf = t.createWorkflow({ workflowArgs: 'w' });
    wf.addTask(b);
    await expect(wf.bind()).rejects.toThrow(/depends on task step_i-1, which was not added/);
    expect(api.requests.filter((r) => r.path.startsWith('/bind'))).toHaveLength(0);
  });

  it('a 422 from commit surfaces as JobmonClientError with code and field', async () => {
    acceptBinds(1);
    api.on(
      'POST',
      '/bind/drafts/draft-1/commit',
      apiError(422, 'unknown_cluster', 'cluster "nope" does not exist', 'workflow.default_cluster_name'),
    );
    const t = tool();
    const wf = t.createWorkflow({ workflowArgs: 'w', defaultClusterName: 'nope' });
    wf.addTasks(
      t.getTaskTemplate({ templateName: 's', commandTemplate: 'echo {i}', nodeArgs: ['i'] }).createTasks({ i: [1] }),
    );
    await expect(wf.bind()).rejects.toMatchObject({
      name: 'JobmonClientError',
      status: 422,
      code: 'unknown_cluster',
      field: 'workflow.default_cluster_name',
    });
  });
});

describe('Workflow.bindStream', () => {
  /** A layered DAG, 1 → n → 1, as Task objects (held) or drawn from a generator with TaskRef upstreams. */
  function layered(t: Tool, n: number) {
    const head = t.getTaskTemplate({ templateName: 'head', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const mid = t.getTaskTemplate({ templateName: 'mid', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const held = () => {
      const first = head.createTask({ i: 0 });
      const middle = mid.createTasks({ i: Array.from({ length: n }, (_, i) => i), upstreamTasks: [first] });
      return [first, ...middle, head.createTask({ i: 1, upstreamTasks: middle })];
    };
    function* streamed() {
      yield head.createTask({ i: 0 });
      for (let i = 0; i < n; i++) yield mid.createTask({ i, upstreamTasks: [head.ref({ i: 0 })] });
      const middle = Array.from({ length: n }, (_, i) => mid.ref({ i }));
      yield head.createTask({ i: 1, upstreamTasks: middle });
    }
    return { templates: [head, mid], held, streamed };
  }

  const sentTasks = () =>
    api
      .calls('POST', '/bind/drafts/draft-1/tasks')
      .map((r) => r.body as { tasks: unknown[]; offset: number })
      .sort((a, b) => a.offset - b.offset)
      .flatMap((b) => b.tasks);

  it('sends the same draft and task specs as addTasks + bind() of the same DAG', async () => {
    acceptBinds(5);
    const t = tool();
    const dag = layered(t, 7_000);
    const wf = t.createWorkflow({ workflowArgs: 'w' });
    wf.addTasks(dag.held());
    await wf.bind();
    const heldDraft = api.calls('POST', '/bind/drafts')[0].body;
    const heldTasks = sentTasks();
    const commitQuery = () => api.calls('POST', '/bind/drafts/draft-1/commit')[0].query.get('task_ids');
    expect(commitQuery()).toBeNull(); // bind() sets each held task's id from the answer
    api.requests.length = 0;
    const progress: number[] = [];
    const streaming = t.createWorkflow({ workflowArgs: 'w' });
    const id = await streaming.bindStream(dag.streamed(), {
      templates: dag.templates,
      total: 7_002,
      onProgress: (p) => progress.push(p.sent),
    });
    expect(id).toBe(5);
    expect(streaming.workflowId).toBe(5);
    expect(streaming.tasks.size).toBe(0);
    expect(api.calls('POST', '/bind/drafts')[0].body).toEqual(heldDraft);
    expect(sentTasks()).toEqual(heldTasks);
    expect(Math.max(...progress)).toBe(7_002);
    expect(commitQuery()).toBe('false'); // no task is held to take an id
  });

  it('names a task of an undeclared template, and commits nothing', async () => {
    acceptBinds(5);
    const t = tool();
    const dag = layered(t, 3);
    const other = t.getTaskTemplate({ templateName: 'other', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    function* tasks() {
      yield* dag.streamed();
      yield other.createTask({ i: 1 });
    }
    const wf = t.createWorkflow({ workflowArgs: 'w' });
    await expect(wf.bindStream(tasks(), { templates: dag.templates })).rejects.toThrow(
      /task other_i-1 is of template "other", which is not in bindStream's options.templates/,
    );
    expect(api.calls('POST', '/bind/drafts/draft-1/commit')).toHaveLength(0);
    expect(wf.workflowId).toBeUndefined();
  });

  it('closes a chunk early at MAX_UPSTREAM_PER_CHUNK upstream entries, so fan-in tasks do not pile up in one', async () => {
    acceptBinds(5);
    const t = tool();
    const dag = layered(t, 30_000);
    const fanIn = t.getTaskTemplate({ templateName: 'fan', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    function* tasks() {
      yield* dag.streamed();
      // Three fan-in tasks of 30,000 upstreams each.
      for (let i = 0; i < 3; i++)
        yield fanIn.createTask({
          i,
          upstreamTasks: Array.from({ length: 30_000 }, (_, j) => dag.templates[1].ref({ i: j })),
        });
    }
    await t.createWorkflow({ workflowArgs: 'w' }).bindStream(tasks(), { templates: [...dag.templates, fanIn] });
    const sizes = api
      .calls('POST', '/bind/drafts/draft-1/tasks')
      .map((r) => r.body as { tasks: { upstream?: string[] }[]; offset: number })
      .sort((a, b) => a.offset - b.offset)
      .map((b) => [b.tasks.length, b.tasks.reduce((n, task) => n + (task.upstream?.length ?? 0), 0)]);
    // 30,002 layered tasks (1 → 30,000 → 1): six full chunks of one upstream each. Then the last
    // middle task, the fan-in head (30,000) and fan 0 (30,000) reach 50,000 and close a chunk of 3;
    // fans 1 and 2 make the last.
    expect(sizes).toEqual([
      [5_000, 4_999],
      ...Array.from({ length: 5 }, () => [5_000, 5_000]),
      [3, 60_001],
      [2, 60_000],
    ]);
  });

  it('refuses a workflow that already holds tasks, and a template of another tool', async () => {
    const t = tool();
    const dag = layered(t, 2);
    const wf = t.createWorkflow({ workflowArgs: 'w' });
    wf.addTasks(dag.held());
    await expect(wf.bindStream(dag.streamed(), { templates: dag.templates })).rejects.toThrow(
      /already holds 4 added with addTask/,
    );
    const foreign = tool('other-tool').getTaskTemplate({ templateName: 'x', commandTemplate: 'echo' });
    await expect(t.createWorkflow({ workflowArgs: 'v' }).bindStream([], { templates: [foreign] })).rejects.toThrow(
      /comes from tool "other-tool"/,
    );
    expect(api.requests.filter((r) => r.path.startsWith('/bind'))).toHaveLength(0);
  });
});

describe('TaskRef', () => {
  it('has the key of the task it names, and takes exactly the node args', () => {
    const t = tool();
    const model = modelTemplate(t);
    const task = model.createTask({ location_id: 1, sex: 'm', year: 1, verbose: '' });
    expect(model.ref({ sex: 'm', location_id: '1' }).key).toBe(task.key);
    expect(model.ref({ location_id: 1, sex: 'm' }).name).toBe(task.name);
    expect(() => model.ref({ location_id: 1 })).toThrow(/missing: sex/);
    expect(() => model.ref({ location_id: 1, sex: 'm', year: 1 })).toThrow(/not node args: year/);
    expect(() => task.addUpstream(model.ref({ location_id: 1, sex: 'm' }))).toThrow(/own upstream/);
  });

  it('bind() refuses a TaskRef upstream that names no task of the workflow', async () => {
    const t = tool();
    const step = t.getTaskTemplate({ templateName: 'step', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const wf = t.createWorkflow({ workflowArgs: 'w' });
    wf.addTask(step.createTask({ i: 2, upstreamTasks: [step.ref({ i: 1 })] }));
    await expect(wf.bind()).rejects.toThrow(/depends on task step_i-1, which was not added/);
    expect(api.requests.filter((r) => r.path.startsWith('/bind'))).toHaveLength(0);
  });
});

describe('Workflow.run', () => {
  function smallWorkflow(): Workflow {
    const t = tool();
    const wf = t.createWorkflow({ workflowArgs: 'small' });
    wf.addTasks(
      t.getTaskTemplate({ templateName: 's', commandTemplate: 'echo {i}', nodeArgs: ['i'] }).createTasks({ i: [1, 2] }),
    );
    return wf;
  }

  /** Status answers in sequence; the last one repeats. */
  function statusSequence(workflowId: number, seq: Parameters<typeof fakeStatus>[0][]): void {
    let i = 0;
    api.on('GET', `/workflows/${workflowId}/status`, () => ({ body: fakeStatus(seq[Math.min(i++, seq.length - 1)]) }));
  }

  const started = {
    workflow_run_id: 3,
    temporal_workflow_id: 'jobmon-wf-9',
    temporal_run_id: 'r',
    temporal_ui_url: 'http://ui/wf-9',
  };

  it('binds, starts a cold run and returns D once the run is DONE, printing progress on change', async () => {
    acceptBinds(9);
    api.on('POST', '/workflows/9/runs', { status: 201, body: started });
    statusSequence(9, [
      { workflowId: 9, buckets: { PENDING: 2 }, run: { id: 3, status: 'R' } },
      { workflowId: 9, buckets: { PENDING: 2 }, run: { id: 3, status: 'R' } },
      { workflowId: 9, buckets: { DONE: 1, RUNNING: 1 }, run: { id: 3, status: 'R' } },
      { workflowId: 9, status: 'D', buckets: { DONE: 2 }, run: { id: 3, status: 'D' } },
    ]);
    const status = await smallWorkflow().run({ pollIntervalMs: 10 });
    expect(status).toBe('D');
    expect(api.calls('POST', '/workflows/9/runs').map((r: FakeRequest) => r.body)).toEqual([
      { resume_mode: 'cold', fail_fast: false },
    ]);
    const progress = stderr.split('\n').filter((l) => l.includes(' done, '));
    expect(progress).toEqual([
      '[wf 9] 0/2 done, 0 running, 0 failed (0%)',
      '[wf 9] 1/2 done, 1 running, 0 failed (50%)',
      '[wf 9] 2/2 done, 0 running, 0 failed (100%)',
    ]);
    expect(stderr).toContain('run 3 finished: D DONE');
  });

  it('attaches to the active run on 409 run_active and returns its final status', async () => {
    acceptBinds(9, false);
    api.on('POST', '/workflows/9/runs', apiError(409, 'run_active', 'workflow 9 already has an active run'));
    statusSequence(9, [
      { workflowId: 9, buckets: { RUNNING: 2 }, run: { id: 2, status: 'R' } },
      { workflowId: 9, status: 'F', buckets: { DONE: 1, FATAL: 1 }, run: { id: 2, status: 'E' } },
    ]);
    expect(await smallWorkflow().run({ pollIntervalMs: 10, resumeMode: 'hot', failFast: true })).toBe('E');
    expect(api.calls('POST', '/workflows/9/runs')).toHaveLength(1);
    expect(api.calls('POST', '/workflows/9/runs')[0].body).toEqual({ resume_mode: 'hot', fail_fast: true });
    expect(stderr).toContain('attaching');
  });

  it('returns D at once when every task is already DONE (409 workflow_done)', async () => {
    acceptBinds(9, false);
    api.on('POST', '/workflows/9/runs', apiError(409, 'workflow_done', 'workflow 9 is DONE'));
    expect(await smallWorkflow().run({ progress: false })).toBe('D');
    expect(api.calls('GET', '/workflows/9/status')).toHaveLength(0);
    expect(stderr).toBe('');
  });

  it('with resume: false refuses a workflow that already existed', async () => {
    acceptBinds(9, false);
    await expect(smallWorkflow().run({ resume: false, progress: false })).rejects.toThrow(
      /already exists .*resume: true/,
    );
    expect(api.calls('POST', '/workflows/9/runs')).toHaveLength(0);
  });

  it('gives up watching after secondsUntilTimeout (the run itself goes on)', async () => {
    acceptBinds(9);
    api.on('POST', '/workflows/9/runs', { status: 201, body: started });
    statusSequence(9, [{ workflowId: 9, buckets: { RUNNING: 2 }, run: { id: 3, status: 'R' } }]);
    await expect(
      smallWorkflow().run({ secondsUntilTimeout: 0.2, pollIntervalMs: 20, progress: false }),
    ).rejects.toThrow(/did not finish within 0.2 s; it keeps running in Temporal/);
  });

  it('starts the local stack when the loopback API does not answer /health', async () => {
    const stack = await import('../src/stack/local-stack');
    api.on('GET', '/health', apiError(503, 'unavailable', 'starting'));
    const ensure = vi.spyOn(stack, 'ensureLocalStack').mockImplementation(async () => {
      // What the real one achieves: the API answers afterwards.
      api.on('GET', '/health', { body: { status: 'ok', database: 'ok', auth: 'local-single-user' } });
    });
    acceptBinds(9, false);
    api.on('POST', '/workflows/9/runs', apiError(409, 'workflow_done', 'workflow 9 is DONE'));
    expect(await smallWorkflow().run({ progress: false })).toBe('D');
    expect(ensure).toHaveBeenCalledTimes(1);
  });
});
