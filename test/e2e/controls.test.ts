/**
 * Operator controls through the API, acting on the run's Temporal workflow: concurrency by a
 * validated update (0 holds everything back), stop --kill (jobs terminated, run resumable), and a
 * resume after changing op_args in the control script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalWorkflowId } from '../../src/temporal/ids';
import { api, startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { instances, lastRun, maxOverlap, replayRunsOf, taskStatusCounts, toolOn } from './helpers';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('operator controls', () => {
  it('holds a run at concurrency 0 and releases it with the setConcurrency update', async () => {
    const tool = toolOn(stack, 'controls-zero');
    const tt = tool.getTaskTemplate({ templateName: 'noop', commandTemplate: 'noop {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'zero',
      maxConcurrentlyRunning: 0,
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(tt.createTasks({ i: [1, 2, 3, 4, 5] }));
    const id = await wf.bind();
    await api(stack, 'POST', `/workflows/${id}/runs`, {});
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'R', {
      timeoutMs: 20_000,
      what: 'the run to start',
    });
    // Held back: nothing is queued while the limit is 0.
    const state = await stack.temporal.client.workflow
      .getHandle(temporalWorkflowId(stack.config, id))
      .query('runState');
    expect(state).toMatchObject({ workflowId: id, paused: false });
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ G: 5 });

    await expect(api(stack, 'PUT', `/workflows/${id}/concurrency`, { limit: -1 })).rejects.toThrow(/422/);
    const limits = await api<{ workflow: number }>(stack, 'PUT', `/workflows/${id}/concurrency`, { limit: 2 });
    expect(limits.workflow).toBe(2);
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'D', {
      timeoutMs: 30_000,
      what: 'the run to finish',
    });
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 5 });
  });

  it('stops a run with --kill (jobs terminated, workflow HALTED) and resumes it after op_args changed', async () => {
    const tool = toolOn(stack, 'controls-kill');
    const build = (seconds: number) => {
      const tt = tool.getTaskTemplate({
        templateName: 'nap',
        commandTemplate: 'sleep {secs} # {i}',
        nodeArgs: ['i'],
        opArgs: ['secs'],
      });
      const wf = tool.createWorkflow({
        workflowArgs: 'kill-then-resume',
        defaultClusterName: 'multiprocess',
        defaultComputeResources: { queue: 'null.q' },
      });
      wf.addTasks(tt.createTasks({ i: [1, 2, 3, 4], secs: seconds }));
      return wf;
    };
    const first = build(60);
    const id = await first.bind();
    await api(stack, 'POST', `/workflows/${id}/runs`, {});
    await waitFor(async () => (await instances(stack.database.db, id)).filter((r) => r.status === 'R').length >= 2, {
      timeoutMs: 30_000,
      what: 'two jobs to run',
    });
    // A second run while one is active is refused.
    await expect(api(stack, 'POST', `/workflows/${id}/runs`, {})).rejects.toThrow(/409/);
    const started = Date.now();
    await api(stack, 'POST', `/workflows/${id}/stop`, { mode: 'kill' });
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'S', {
      timeoutMs: 30_000,
      what: 'the run to stop',
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    const wfRow = await stack.database.db
      .selectFrom('workflow')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(wfRow.status).toBe('H');
    const killed = await instances(stack.database.db, id);
    expect(killed.every((r) => ['F', 'D'].includes(r.status))).toBe(true);

    // Same script with a shorter sleep: op_args are not part of identity, so this resumes it.
    const second = build(0);
    expect(await second.run({ progress: false })).toBe('D');
    expect(second.workflowId).toBe(id);
    expect(maxOverlap(await instances(stack.database.db, id))).toBeGreaterThan(0);
  }, 90_000);

  it('replays these runs (signals, updates, a kill and a resume) on the current workflow code', async () => {
    const { replayed, failures } = await replayRunsOf(stack);
    expect(failures).toEqual([]);
    expect(replayed.length).toBeGreaterThanOrEqual(3);
  });
});
