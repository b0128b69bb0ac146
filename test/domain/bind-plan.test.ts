import { describe, expect, it } from 'vitest';
import { checkDraftSpec, type ClusterCatalog } from '../../src/domain/bind-checks';
import { planBind } from '../../src/domain/bind-plan';
import { JobmonError } from '../../src/domain/errors';
import type { DraftSpec, TaskSpec } from '../../src/domain/bind-spec';
import type { QueueLimits } from '../../src/domain/resources';

const catalog: ClusterCatalog = new Map<string, Map<string, QueueLimits>>([
  [
    'local',
    new Map([
      ['small.q', { cores: [1, 4], memory: [0, 8] }],
      ['big.q', { cores: [1, 64], memory: [0, 512] }],
    ]),
  ],
  ['other', new Map([['null.q', {}]])],
]);

const spec = (): DraftSpec => ({
  tool: { name: 'tool' },
  workflow: {
    workflow_args: 'args',
    default_cluster_name: 'local',
    default_compute_resources: { queue: 'small.q', cores: 1, memory: '1G', runtime: '10m' },
    default_resource_scales: { memory: 0.25 },
    default_max_attempts: 5,
  },
  task_templates: [
    { name: 'prep', command_template: 'prep {loc}', node_args: ['loc'] },
    {
      name: 'model',
      command_template: 'model {loc} --year {year} {verbose}',
      node_args: ['loc'],
      task_args: ['year'],
      op_args: ['verbose'],
      default_compute_resources: { memory: '2G' },
      default_resource_scales: { runtime: [100, 200] },
      default_max_attempts: 2,
      default_cluster_name: 'local',
    },
  ],
});

function errorOf(fn: () => unknown): JobmonError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(JobmonError);
    return err as JobmonError;
  }
  throw new Error('expected a JobmonError');
}

const plan = (tasks: unknown[], s: DraftSpec = spec()) => planBind(checkDraftSpec(s, catalog), tasks, catalog);

describe('planBind', () => {
  const tasks: TaskSpec[] = [
    { key: 'p1', template: 'prep', node_args: { loc: 1 } },
    {
      key: 'm1',
      template: 'model',
      node_args: { loc: 1 },
      task_args: { year: 2020 },
      op_args: { verbose: '-v' },
      upstream: ['p1'],
      compute_resources: { cores: 2 },
      max_attempts: 7,
      resource_scales: { cores: 1 },
    },
  ];

  it('applies Jobmon precedence: task > template > workflow > default', () => {
    const p = plan(tasks);
    const [prep, model] = p.tasks;
    expect(prep.resources).toEqual({ queue: 'small.q', cores: 1, memory: 1, runtime: 600 });
    expect(model.resources).toEqual({ queue: 'small.q', cores: 2, memory: 2, runtime: 600 });
    expect(prep.maxAttempts).toBe(5);
    expect(model.maxAttempts).toBe(7);
    expect(prep.resourceScales).toEqual({ memory: 0.25, runtime: 0.5 });
    expect(model.resourceScales).toEqual({ memory: 0.25, runtime: [100, 200], cores: 1 });
    expect(prep.clusterName).toBe('local');
    expect(model.command).toBe('model 1 --year 2020 -v');
    expect(prep.name).toBe('prep_loc-1');
    expect(p.resources.size).toBe(2);
    expect(p.usedTemplates.map((t) => t.name)).toEqual(['prep', 'model']);
  });

  it('keeps identity when only op_args, names and resources change', () => {
    const a = plan(tasks);
    const changed = structuredClone(tasks);
    changed[1].op_args = { verbose: '' };
    changed[1].name = 'renamed';
    changed[1].compute_resources = { cores: 4 };
    const b = plan(changed);
    expect([b.taskHash, b.dagHash]).toEqual([a.taskHash, a.dagHash]);
    const noEdge = structuredClone(tasks);
    noEdge[1].upstream = [];
    expect(plan(noEdge).dagHash).not.toBe(a.dagHash);
    const otherYear = structuredClone(tasks);
    otherYear[1].task_args = { year: 2021 };
    expect(plan(otherYear).taskHash).not.toBe(a.taskHash);
  });

  it('refuses requests outside the queue limits, naming where the value came from', () => {
    const over = structuredClone(tasks);
    over[1].compute_resources = { memory: '9G' };
    expect([errorOf(() => plan(over)).field, errorOf(() => plan(over)).code]).toEqual([
      'tasks[1].compute_resources.memory',
      'outside_queue_limits',
    ]);
    const s = spec();
    s.workflow.default_compute_resources = { queue: 'small.q', cores: 8 };
    expect(errorOf(() => plan(tasks.slice(0, 1), s)).field).toBe('workflow.default_compute_resources.cores');
  });

  it('refuses a memory request below what any task can run in, saying why; 0 means none', () => {
    const tiny = structuredClone(tasks);
    tiny[1].compute_resources = { memory: '2M' };
    const err = errorOf(() => plan(tiny));
    expect([err.field, err.code]).toEqual(['tasks[1].compute_resources.memory', 'memory_too_small']);
    expect(err.message).toMatch(/memory 2 MB can never run: a task's command needs at least 8 MB/);
    expect(err.message).toMatch(/the wrapper's \d+ MB are added/);
    const none = structuredClone(tasks);
    none[1].compute_resources = { memory: 0 };
    expect(() => plan(none)).not.toThrow();
    const enough = structuredClone(tasks);
    enough[1].compute_resources = { memory: '8M' };
    expect(() => plan(enough)).not.toThrow();
  });

  it('refuses a missing op arg and an extra node arg, naming the arg', () => {
    const missing = structuredClone(tasks);
    missing[1].op_args = {};
    expect([errorOf(() => plan(missing)).field, errorOf(() => plan(missing)).code]).toEqual([
      'tasks[1].op_args.verbose',
      'missing_arg',
    ]);
    const extra = structuredClone(tasks);
    extra[0].node_args = { loc: 1, sex: 2 };
    expect([errorOf(() => plan(extra)).field, errorOf(() => plan(extra)).code]).toEqual([
      'tasks[0].node_args.sex',
      'unknown_arg',
    ]);
  });

  it('refuses unknown clusters, queues and fallback queues', () => {
    const badCluster = structuredClone(tasks);
    badCluster[0].cluster_name = 'nope';
    expect([errorOf(() => plan(badCluster)).field, errorOf(() => plan(badCluster)).code]).toEqual([
      'tasks[0].cluster_name',
      'unknown_cluster',
    ]);
    const badQueue = structuredClone(tasks);
    badQueue[0].compute_resources = { queue: 'nope.q' };
    expect([errorOf(() => plan(badQueue)).field, errorOf(() => plan(badQueue)).code]).toEqual([
      'tasks[0].compute_resources.queue',
      'unknown_queue',
    ]);
    const badFallback = structuredClone(tasks);
    badFallback[0].fallback_queues = ['big.q', 'nope.q'];
    expect(errorOf(() => plan(badFallback)).field).toBe('tasks[0].fallback_queues[1]');
  });

  it('requires a cluster and a queue somewhere', () => {
    const s = spec();
    delete s.workflow.default_cluster_name;
    delete s.task_templates[1].default_cluster_name;
    expect([errorOf(() => plan(tasks, s)).field, errorOf(() => plan(tasks, s)).code]).toEqual([
      'tasks[0].cluster_name',
      'missing_cluster',
    ]);
    const s2 = spec();
    s2.workflow.default_compute_resources = { cores: 1 };
    expect(errorOf(() => plan(tasks, s2)).field).toBe('tasks[0].compute_resources.queue');
  });

  it('refuses an empty task list and bad template declarations', () => {
    expect(errorOf(() => plan([])).field).toBe('tasks');
    const s = spec();
    s.task_templates[1].command_template = 'model {loc} {year} {verbose} {nope}';
    expect(errorOf(() => checkDraftSpec(s, catalog)).field).toBe('task_templates[1].command_template');
    const s2 = spec();
    s2.task_templates[1].name = 'prep';
    expect(errorOf(() => checkDraftSpec(s2, catalog)).field).toBe('task_templates[1].name');
    const s3 = spec();
    s3.workflow.default_compute_resources = { queue: 'small.q', memory: 'lots' };
    expect(errorOf(() => checkDraftSpec(s3, catalog)).field).toBe('workflow.default_compute_resources.memory');
  });
});
