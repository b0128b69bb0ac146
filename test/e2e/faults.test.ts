/**
 * Crashes lose nothing: a job whose wrapper dies silently is found by its heartbeat timeout and
 * retried; a worker process killed with SIGKILL mid-run and started again carries on, and no task
 * ever has two instances running at once (proved from the TaskInstance records).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { instances, taskStatusCounts, tasksRunTwiceAtOnce, toolOn } from './helpers';

let stack: TestStack;
let scratch: string;

beforeAll(async () => {
  stack = await startTestStack({ inProcessWorker: false });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jmt-faults-'));
});
afterAll(async () => {
  await stack?.close();
});

function startWorkerProcess(): ChildProcess {
  return spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'worker', 'main.js')], {
    env: stack.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('faults', () => {
  it('detects a wrapper killed with SIGKILL by its heartbeat timeout and retries the task', async () => {
    const worker = startWorkerProcess();
    try {
      const marker = path.join(scratch, 'second-attempt');
      const pidFile = path.join(scratch, 'cmd.pid');
      const tool = toolOn(stack, 'faults-wrapper');
      const tt = tool.getTaskTemplate({
        templateName: 'victim',
        // First attempt: record its pid and hang; second attempt: succeed at once.
        commandTemplate: `if [ -f ${marker} ]; then exit 0; fi; touch ${marker}; echo $$ > ${pidFile}; exec sleep 120 # {i}`,
        nodeArgs: ['i'],
      });
      const wf = tool.createWorkflow({
        workflowArgs: 'wrapper-sigkill',
        defaultClusterName: 'multiprocess',
        defaultComputeResources: { queue: 'null.q' },
      });
      wf.addTask(tt.createTask({ i: 1, maxAttempts: 3 }));
      const result = wf.run({ progress: false, secondsUntilTimeout: 110 });

      const commandPid = await waitFor(async () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), {
        timeoutMs: 30_000,
        what: 'the command to start',
      });
      const running = await waitFor(
        async () => (await instances(stack.database.db, wf.workflowId as number)).find((r) => r.status === 'R'),
        { timeoutMs: 30_000, what: 'the instance to be RUNNING' },
      );
      const row = await stack.database.db
        .selectFrom('task_instance')
        .select('process_id')
        .where('id', '=', running.id)
        .executeTakeFirstOrThrow();
      const killedAt = Date.now();
      process.kill(row.process_id as number, 'SIGKILL');
      process.kill(commandPid, 'SIGKILL');

      expect(await result).toBe('D');
      const records = await instances(stack.database.db, wf.workflowId as number);
      expect(records.map((r) => r.status)).toEqual(['U', 'D']);
      const lost = await stack.database.db
        .selectFrom('task_instance')
        .select(['status_date'])
        .where('id', '=', records[0].id)
        .executeTakeFirstOrThrow();
      const detectedAfterS = (new Date(lost.status_date).getTime() - killedAt) / 1000;
      // report_by = heartbeat 1 s × 3.1; plus at most one monitor pass.
      expect(detectedAfterS).toBeLessThan(15);
      const errors = await stack.database.db
        .selectFrom('task_instance_error_log')
        .select('description')
        .where('task_instance_id', '=', records[0].id)
        .execute();
      expect(errors[0].description).toMatch(/lost/);
      expect(alive(commandPid)).toBe(false);
    } finally {
      await stopProcess(worker, 'SIGTERM');
    }
  }, 120_000);

  it('carries on after the worker process is killed with SIGKILL and restarted; nothing runs twice at once', async () => {
    let worker = startWorkerProcess();
    try {
      const tool = toolOn(stack, 'faults-worker');
      const stage = tool.getTaskTemplate({
        templateName: 'stage',
        commandTemplate: 'sleep 0.7 # {i}',
        nodeArgs: ['i'],
      });
      const last = tool.getTaskTemplate({ templateName: 'last', commandTemplate: 'true', nodeArgs: [] });
      const wf = tool.createWorkflow({
        workflowArgs: 'worker-sigkill',
        defaultClusterName: 'multiprocess',
        defaultComputeResources: { queue: 'null.q' },
      });
      const stages = stage.createTasks({ i: Array.from({ length: 12 }, (_, i) => i) });
      wf.addTasks([...stages, last.createTask({ upstreamTasks: stages })]);
      const result = wf.run({ progress: false, secondsUntilTimeout: 170 });

      await waitFor(
        async () => ((await taskStatusCounts(stack.database.db, (wf.workflowId as number) ?? -1)).D ?? 0) >= 2,
        {
          timeoutMs: 60_000,
          what: 'two tasks to finish',
        },
      );
      await stopProcess(worker, 'SIGKILL');
      worker = startWorkerProcess();

      expect(await result).toBe('D');
      const records = await instances(stack.database.db, wf.workflowId as number);
      expect(await taskStatusCounts(stack.database.db, wf.workflowId as number)).toEqual({ D: 13 });
      expect(tasksRunTwiceAtOnce(records)).toEqual([]);
      // Each task finished exactly once.
      const doneByTask = new Map<number, number>();
      for (const r of records.filter((x) => x.status === 'D'))
        doneByTask.set(r.task_id, (doneByTask.get(r.task_id) ?? 0) + 1);
      expect([...doneByTask.values()].every((n) => n === 1)).toBe(true);
      expect(doneByTask.size).toBe(13);
    } finally {
      await stopProcess(worker, 'SIGTERM');
    }
  }, 180_000);
});
