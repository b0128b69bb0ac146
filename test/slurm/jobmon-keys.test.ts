/**
 * Jobmon's Slurm-plugin keys on a real Slurm 24.11 with slurmdbd (scripts/slurm-up.sh): `project`
 * is the job's account. The set-up adds a second account and associates the job user with it, so
 * the job visibly runs under the project's account rather than the default one; an account
 * slurmdbd does not know fails the task with Slurm's reason instead of hanging. And `stdout` /
 * `stderr` (log directories) receive Slurm's own entry-script output as well as the task's logs.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { toolOn, taskStatusCounts } from '../e2e/helpers';
import {
  ensureSlurm,
  instanceRows,
  JOB_USER,
  scontrolJob,
  sharedScratch,
  slurmBin,
  stopSlurm,
  type SlurmHandle,
} from './helpers';

const PROJECT = 'jmtproj';
let slurm: SlurmHandle | undefined;
let stack: TestStack;

beforeAll(async () => {
  slurm = await ensureSlurm();
  if (!slurm.ok) {
    console.warn(`SKIPPING the Slurm tests: ${slurm.reason}`);
    return;
  }
  if (slurm.release !== '24.11') {
    console.warn('SKIPPING: a second account needs slurmdbd (the 24.11 cluster)');
    return;
  }
  const sacctmgr = (...args: string[]) => execFileSync(slurmBin('sacctmgr'), ['-i', ...args], { encoding: 'utf8' });
  const accounts = execFileSync(slurmBin('sacctmgr'), ['-n', '-P', 'show', 'account', 'format=account'], {
    encoding: 'utf8',
  });
  if (!accounts.split('\n').includes(PROJECT)) sacctmgr('add', 'account', PROJECT, 'Cluster=jmt');
  const assoc = execFileSync(slurmBin('sacctmgr'), ['-n', '-P', 'show', 'assoc', `account=${PROJECT}`, 'format=user'], {
    encoding: 'utf8',
  });
  if (!assoc.split('\n').includes(JOB_USER)) sacctmgr('add', 'user', JOB_USER, `Account=${PROJECT}`, 'Cluster=jmt');
  stack = await startTestStack();
  chmodSync(stack.config.home, 0o755);
}, 620_000);

afterAll(async () => {
  await stack?.close();
  await stopSlurm(slurm);
}, 120_000);

function needSlurm(ctx: TestContext): void {
  if (!slurm?.ok || !stack) ctx.skip();
}

describe.concurrent("Jobmon's `project` key on Slurm 24.11", () => {
  it("runs the job under the project's account (--account)", async (ctx) => {
    needSlurm(ctx);
    const tool = toolOn(stack, 'slurm-project');
    const t = tool.getTaskTemplate({ templateName: 'acct', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'slurm-project',
      defaultClusterName: 'slurm',
      defaultComputeResources: { queue: 'debug', memory: '200M', runtime: '5m', project: PROJECT },
    });
    wf.addTask(t.createTask({ i: 1 }));
    expect(await wf.run({ progress: false, secondsUntilTimeout: 170 })).toBe('D');
    const [row] = await instanceRows(stack.database.db, wf.workflowId as number);
    expect(scontrolJob(row.distributor_id!.split('_')[0])).toContain(`Account=${PROJECT}`);
  }, 180_000);

  it("fails the task with Slurm's reason when the project is an account slurmdbd does not know", async (ctx) => {
    needSlurm(ctx);
    const tool = toolOn(stack, 'slurm-project-unknown');
    const t = tool.getTaskTemplate({ templateName: 'acct', commandTemplate: 'echo {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'slurm-project-unknown',
      defaultClusterName: 'slurm',
      defaultComputeResources: { queue: 'debug', memory: '200M', runtime: '5m', project: 'no_such_project' },
    });
    wf.addTask(t.createTask({ i: 1, maxAttempts: 1 }));
    const t0 = Date.now();
    expect(await wf.run({ progress: false, secondsUntilTimeout: 120 })).toBe('E');
    expect(Date.now() - t0).toBeLessThan(60_000);
    const rows = await instanceRows(stack.database.db, wf.workflowId as number);
    expect(rows.flatMap((r) => r.errors).join('\n')).toMatch(/account/i);
    expect(await taskStatusCounts(stack.database.db, wf.workflowId as number)).toEqual({ F: 1 });
  }, 180_000);

  it("writes Slurm's own output for the entry script into the task's stdout / stderr directories", async (ctx) => {
    needSlurm(ctx);
    const scratch = sharedScratch('jmt-slurm-logs-');
    const tool = toolOn(stack, 'slurm-log-dirs');
    const t = tool.getTaskTemplate({
      templateName: 'logs',
      commandTemplate: 'echo out-{i}; echo err-{i} >&2',
      nodeArgs: ['i'],
    });
    const wf = tool.createWorkflow({
      workflowArgs: 'slurm-log-dirs',
      defaultClusterName: 'slurm',
      defaultComputeResources: {
        queue: 'debug',
        memory: '200M',
        runtime: '5m',
        stdout: `${scratch}/out`,
        stderr: `${scratch}/err`,
      },
    });
    wf.addTask(t.createTask({ i: 1 }));
    expect(await wf.run({ progress: false, secondsUntilTimeout: 170 })).toBe('D');
    const [row] = await instanceRows(stack.database.db, wf.workflowId as number);
    const job = row.distributor_id!;
    // Slurm's files (the entry script's own output) beside the wrapper's task logs.
    expect(existsSync(`${scratch}/out/${job}.out`)).toBe(true);
    expect(existsSync(`${scratch}/err/${job}.err`)).toBe(true);
    expect(readdirSync(`${scratch}/out`).some((f) => f.endsWith(`.o${row.id}`))).toBe(true);
    expect(readdirSync(`${scratch}/err`).some((f) => f.endsWith(`.e${row.id}`))).toBe(true);
  }, 180_000);
});
