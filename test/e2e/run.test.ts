/**
 * End to end on real Temporal, Postgres and local processes: a control script (the TypeScript
 * client) binds and runs DAGs through the API; the worker's workflow schedules them; the wrapper
 * runs commands and reports back.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { instances, maxOverlap, replayRunsOf, taskStatusCounts, tasksRunTwiceAtOnce, toolOn } from './helpers';

let stack: TestStack;
let scratch: string;

beforeAll(async () => {
  stack = await startTestStack();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jmt-e2e-files-'));
});
afterAll(async () => {
  await stack?.close();
});

describe('a workflow run', () => {
  it('runs a three-stage DAG with the dummy distributor to DONE', async () => {
    const tool = toolOn(stack, 'e2e-dummy');
    const prep = tool.getTaskTemplate({ templateName: 'prep', commandTemplate: 'true', nodeArgs: [] });
    const model = tool.getTaskTemplate({ templateName: 'model', commandTemplate: 'model {loc}', nodeArgs: ['loc'] });
    const agg = tool.getTaskTemplate({ templateName: 'agg', commandTemplate: 'agg', nodeArgs: [] });
    const wf = tool.createWorkflow({
      workflowArgs: 'dummy-3-stage',
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    const p = prep.createTask({});
    const models = model.createTasks({ loc: [1, 2, 3, 4, 5, 6, 7, 8], upstreamTasks: [p] });
    const a = agg.createTask({ upstreamTasks: models });
    wf.addTasks([p, ...models, a]);
    expect(await wf.run({ progress: false })).toBe('D');
    expect(await taskStatusCounts(stack.database.db, wf.workflowId as number)).toEqual({ D: 10 });
  });

  it('runs real commands through the wrapper on multiprocess, writing their logs', async () => {
    const tool = toolOn(stack, 'e2e-mp');
    const write = tool.getTaskTemplate({
      templateName: 'write',
      commandTemplate: `echo {loc}-{sex} > ${scratch}/out-{loc}-{sex}.txt && echo done {loc}`,
      nodeArgs: ['loc', 'sex'],
    });
    const gather = tool.getTaskTemplate({
      templateName: 'gather',
      commandTemplate: `cat ${scratch}/out-*.txt > ${scratch}/all.txt`,
      nodeArgs: [],
    });
    const wf = tool.createWorkflow({
      workflowArgs: 'mp-logs',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q', cores: 1 },
    });
    const writes = write.createTasks({ loc: [1, 2, 3], sex: ['m', 'f'] });
    wf.addTasks([...writes, gather.createTask({ upstreamTasks: writes })]);
    expect(await wf.run({ progress: false })).toBe('D');
    expect(readFileSync(path.join(scratch, 'all.txt'), 'utf8').trim().split('\n').sort()).toEqual([
      '1-f',
      '1-m',
      '2-f',
      '2-m',
      '3-f',
      '3-m',
    ]);
    const records = await stack.database.db
      .selectFrom('task_instance')
      .select(['stdout_path', 'stdout_tail', 'exit_code'])
      .where('workflow_id', '=', wf.workflowId as number)
      .execute();
    expect(records).toHaveLength(7);
    for (const r of records) {
      expect(r.exit_code).toBe(0);
      expect(r.stdout_path && existsSync(r.stdout_path)).toBe(true);
    }
    expect(records.some((r) => r.stdout_tail?.includes('done 2'))).toBe(true);
  });

  it('retries a failing task up to max_attempts, then fails the run; a resume skips DONE tasks', async () => {
    const marker = path.join(scratch, 'fixed');
    const tool = toolOn(stack, 'e2e-retry');
    const ok = tool.getTaskTemplate({ templateName: 'ok', commandTemplate: 'true {i}', nodeArgs: ['i'] });
    const flaky = tool.getTaskTemplate({ templateName: 'flaky', commandTemplate: `test -f ${marker}`, nodeArgs: [] });
    const after = tool.getTaskTemplate({ templateName: 'after', commandTemplate: 'true', nodeArgs: [] });
    const build = () => {
      const wf = tool.createWorkflow({
        workflowArgs: 'retry-then-resume',
        defaultClusterName: 'multiprocess',
        defaultComputeResources: { queue: 'null.q' },
      });
      const oks = ok.createTasks({ i: [1, 2, 3] });
      const f = flaky.createTask({ maxAttempts: 2, upstreamTasks: oks });
      wf.addTasks([...oks, f, after.createTask({ upstreamTasks: [f] })]);
      return wf;
    };
    const first = build();
    expect(await first.run({ progress: false })).toBe('E');
    const id = first.workflowId as number;
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 3, F: 1, G: 1 });
    const failedAttempts = (await instances(stack.database.db, id)).filter((r) => r.status === 'E');
    expect(failedAttempts).toHaveLength(2);

    // Fix the cause and run the same script again: same workflow, DONE tasks are not run again.
    await import('node:fs/promises').then((fs) => fs.writeFile(marker, ''));
    const second = build();
    expect(await second.run({ progress: false })).toBe('D');
    expect(second.workflowId).toBe(id);
    const records = await instances(stack.database.db, id);
    const perTask = new Map<number, number>();
    for (const r of records) perTask.set(r.task_id, (perTask.get(r.task_id) ?? 0) + 1);
    expect([...perTask.values()].sort()).toEqual([1, 1, 1, 1, 3]);
  });

  it('never runs more tasks at once than the workflow and template limits', async () => {
    const tool = toolOn(stack, 'e2e-limits');
    const sleepy = tool.getTaskTemplate({
      templateName: 'sleepy',
      commandTemplate: 'sleep 0.4 # {i}',
      nodeArgs: ['i'],
    });
    const other = tool.getTaskTemplate({ templateName: 'other', commandTemplate: 'sleep 0.4 # {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'limits',
      maxConcurrentlyRunning: 3,
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks([...sleepy.createTasks({ i: [1, 2, 3, 4, 5, 6] }), ...other.createTasks({ i: [1, 2, 3, 4] })]);
    wf.setTaskTemplateMaxConcurrencyLimit('sleepy', 1);
    expect(await wf.run({ progress: false })).toBe('D');
    const records = await instances(stack.database.db, wf.workflowId as number);
    expect(records).toHaveLength(10);
    expect(maxOverlap(records)).toBeLessThanOrEqual(3);
    const sleepyIds = new Set(
      (
        await stack.database.db
          .selectFrom('task')
          .innerJoin('array_', 'array_.id', 'task.array_id')
          .select(['task.id', 'array_.name'])
          .where('task.workflow_id', '=', wf.workflowId as number)
          .execute()
      )
        .filter((t) => t.name === 'sleepy')
        .map((t) => Number(t.id)),
    );
    expect(maxOverlap(records.filter((r) => sleepyIds.has(r.task_id)))).toBe(1);
    expect(tasksRunTwiceAtOnce(records)).toEqual([]);
  });

  it('replays the histories of these runs on the current workflow code', async () => {
    const { replayed, failures } = await replayRunsOf(stack);
    expect(failures).toEqual([]);
    expect(replayed.length).toBeGreaterThanOrEqual(5);
  });
});
