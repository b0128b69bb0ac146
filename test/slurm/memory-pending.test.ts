/**
 * Two rows of issue 15 on the real 24.11 cluster (scripts/slurm-up.sh), with the Slurm set-up every
 * file shares (useSlurmStack):
 * - the wrapper's memory share: a task that fits its own memory request is not OOM-killed for the
 *   wrapper's memory, because the job asks Slurm for the task's request + WRAPPER_MEMORY_MB; the
 *   task reads its parent's (the wrapper's) VmHWM while it runs, the measurement behind that constant;
 * - a job Slurm keeps waiting: submitted to a partition that is DOWN, it pends with Slurm's true
 *   reason `PartitionDown`, which the monitor stores with the batch and progress shows as a risk;
 *   once the partition is UP again the job runs, the workflow ends D and the reason is cleared.
 */
import { execFileSync } from 'node:child_process';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { toolOn } from '../e2e/helpers';
import { WRAPPER_MEMORY_MB } from '../../src/domain/wrapper-memory';
import type { TaskDetails, WorkflowProgress } from '../../src/contract/types';
import { instanceRows, restJobs, slurmBin, useSlurmStack } from './helpers';

const DOWN_PARTITION = 'jmtdown';
const scontrol = (...args: string[]) => execFileSync(slurmBin('scontrol'), args, { encoding: 'utf8' });
/** Figures for the report (printed once at the end). */
const measured: Record<string, number | string> = {};

const slurm = useSlurmStack({
  setUp: async (stack) => {
    // A partition of the same nodes, DOWN: Slurm queues its jobs with reason PartitionDown.
    try {
      scontrol('delete', `PartitionName=${DOWN_PARTITION}`);
    } catch {
      /* not left over from an earlier run */
    }
    scontrol('create', `PartitionName=${DOWN_PARTITION}`, 'Nodes=ALL', 'MaxTime=60', 'State=DOWN');
    await sql`
      insert into queue (cluster_id, name, parameters)
      select id, ${DOWN_PARTITION}, '{"cores": [1, 64], "memory": [0, 1], "runtime": [1, 3600]}'::jsonb
        from cluster where name = 'slurm'`.execute(stack.database.db);
  },
  tearDown: async () => {
    console.log(`slurm measurements (memory-pending): ${JSON.stringify(measured)}`);
    scontrol('delete', `PartitionName=${DOWN_PARTITION}`);
  },
});

describe.concurrent('Slurm 24.11: the wrapper’s memory share and pending reasons', () => {
  it('runs a task that fits its memory request without charging it the wrapper’s share', async (ctx) => {
    slurm.need(ctx);
    const { stack } = slurm;
    const tool = toolOn(stack, 'slurm-wrapper-share');
    // 110 MB held by python (≈ 117 MB resident, anonymous) in a 128 MB request: over the limit if
    // the wrapper's memory (16 MB anonymous + 45 MB of Node's mapped binary) counted against it,
    // well inside 128 MB + the wrapper's share.
    const t = tool.getTaskTemplate({
      templateName: 'fits',
      commandTemplate:
        `python3 -c "import time; b = bytearray(110 * 1024 * 1024); time.sleep(2)" && ` +
        `grep -E '^(VmHWM|VmRSS|RssAnon|RssFile)' /proc/$PPID/status # {i}`,
      nodeArgs: ['i'],
    });
    const wf = tool.createWorkflow({
      workflowArgs: 'slurm-wrapper-share',
      defaultClusterName: 'slurm',
      defaultComputeResources: { queue: 'debug', memory: '128M', runtime: '5m' },
    });
    const task = t.createTask({ i: 1, maxAttempts: 1 });
    wf.addTask(task);
    expect(await wf.run({ progress: false, secondsUntilTimeout: 170 })).toBe('D');
    const [row] = await instanceRows(stack.database.db, wf.workflowId as number);
    expect(row.status).toBe('D');
    const job = (await restJobs(row.distributor_id!.split('_')[0]))[0];
    expect(job.memoryMb).toBe(128 + WRAPPER_MEMORY_MB);
    // The wrapper's own peak while its task ran (its parent, as the task sees it).
    const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(row.stdout_tail ?? '')?.[1]);
    expect(hwmKb).toBeGreaterThan(0);
    measured.wrapperVmHWMMb = Math.round(hwmKb / 102.4) / 10;
    const mb = (key: string) =>
      Math.round(Number(new RegExp(`${key}:\\s+(\\d+)`).exec(row.stdout_tail ?? '')?.[1]) / 102.4) / 10;
    measured.wrapperVmRSSMb = mb('VmRSS');
    measured.wrapperRssAnonMb = mb('RssAnon');
    measured.wrapperRssFileMb = mb('RssFile');
    expect(hwmKb / 1024).toBeLessThanOrEqual(WRAPPER_MEMORY_MB);
    // `jmt task status` reads this answer: the request as Slurm got it, and its two parts.
    const details = await api<TaskDetails>(stack, 'GET', `/tasks/${row.task_id}`);
    expect(details.task.memory_request).toEqual({
      task_mb: 128,
      wrapper_mb: WRAPPER_MEMORY_MB,
      job_mb: 128 + WRAPPER_MEMORY_MB,
    });
  }, 180_000);

  it('stores Slurm’s pending reason with the batch, shows it as a progress risk, and clears it once the job runs', async (ctx) => {
    slurm.need(ctx);
    const { stack } = slurm;
    const db = stack.database.db;
    const tool = toolOn(stack, 'slurm-pending');
    const t = tool.getTaskTemplate({ templateName: 'waits', commandTemplate: 'echo ran {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'slurm-pending',
      defaultClusterName: 'slurm',
      defaultComputeResources: { queue: DOWN_PARTITION, memory: '100M', runtime: '5m' },
    });
    wf.addTasks(t.createTasks({ i: [1, 2] }));
    const workflowId = await wf.bind();
    const run = wf.run({ progress: false, secondsUntilTimeout: 230 });
    const t0 = Date.now();
    // The monitor asks about queued jobs once their report-by passes (10 s × 3.1 in the test stack).
    const batch = await waitFor(
      async () =>
        (
          await db
            .selectFrom('task_batch')
            .select(['id', 'pending_reason', 'pending_since'])
            .where('workflow_id', '=', workflowId)
            .where('pending_reason', 'is not', null)
            .execute()
        )[0],
      { timeoutMs: 120_000, intervalMs: 500, what: 'the batch’s pending reason' },
    );
    measured.pendingReasonStoredAfterS = (Date.now() - t0) / 1000;
    expect(batch.pending_reason).toBe('PartitionDown');
    const progress = await api<WorkflowProgress>(stack, 'GET', `/workflows/${workflowId}/progress`);
    const risk = progress.risks.find((r) => r.kind === 'cluster_pending');
    expect(risk).toMatchObject({ severity: 'medium', count: 2 });
    expect(risk!.message).toMatch(/2 jobs \(1 batch\) wait on the cluster; the scheduler says: PartitionDown/);
    expect(risk!.action).toMatch(/down or drained/);
    expect(risk!.example_task_ids).toHaveLength(2);

    scontrol('update', `PartitionName=${DOWN_PARTITION}`, 'State=UP');
    expect(await run).toBe('D');
    const after = await db
      .selectFrom('task_batch')
      .select(['pending_reason', 'pending_since'])
      .where('workflow_id', '=', workflowId)
      .execute();
    expect(after).toEqual([{ pending_reason: null, pending_since: null }]);
    const done = await api<WorkflowProgress>(stack, 'GET', `/workflows/${workflowId}/progress`);
    expect(done.risks.filter((r) => r.kind === 'cluster_pending')).toEqual([]);
  }, 240_000);
});
