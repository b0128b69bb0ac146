/**
 * `jmt workflow stop --kill` on a real Slurm (scripts/slurm-up.sh): the run's jobs are RUNNING in
 * Slurm when an operator kills the run; Slurm must end up with them CANCELLED (not left sleeping on
 * the node), the instances FATAL, the run STOPPED and the workflow HALTED — and a resume with the
 * command changed through op_args must then finish the workflow.
 *
 * Its own file (and stack) so it can run without the gremlin tests of slurm.test.ts, which take
 * slurmd away from every job on the node.
 */
import { chmodSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { runCli } from '../../src/cli/main';
import { startTestStack, api, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { taskStatusCounts, toolOn } from '../e2e/helpers';
import { ensureSlurm, instanceRows, restJobs, scontrolJob, stopSlurm, type SlurmHandle } from './helpers';

let slurm: SlurmHandle | undefined;
let stack: TestStack;

beforeAll(async () => {
  slurm = await ensureSlurm();
  if (!slurm.ok) {
    console.warn(`SKIPPING the Slurm stop --kill test: ${slurm.reason}`);
    return;
  }
  stack = await startTestStack();
  // Jobs run as the job user, who must be able to write the tasks' logs under the stack's home.
  chmodSync(stack.config.home, 0o755);
}, 620_000);

afterAll(async () => {
  await stack?.close();
  await stopSlurm(slurm);
}, 120_000);

function needSlurm(ctx: TestContext): void {
  if (!slurm?.ok) ctx.skip();
}

const jobState = (distributorId: string): string | undefined => /JobState=(\S+)/.exec(scontrolJob(distributorId))?.[1];

describe('stop --kill on Slurm', () => {
  it('cancels the running Slurm jobs, ends the run S / workflow H / instances F, and a resume finishes DONE', async (ctx) => {
    needSlurm(ctx);
    const tool = toolOn(stack, 'slurm-stop-kill');
    // `secs` is an op_arg: changing it does not change the tasks' identity, so the second script
    // below resumes the same workflow with a command that finishes at once.
    const build = (secs: number) => {
      const nap = tool.getTaskTemplate({
        templateName: 'nap',
        commandTemplate: 'sleep {secs} # {i}',
        nodeArgs: ['i'],
        opArgs: ['secs'],
      });
      const wf = tool.createWorkflow({
        workflowArgs: 'slurm-stop-kill',
        defaultClusterName: 'slurm',
        // debug oversubscribes (FORCE:32) and 3 × 100 MB fits: all three run at once on the one node.
        defaultComputeResources: { queue: 'debug', memory: '100M', runtime: '5m', cores: 1 },
      });
      wf.addTasks(nap.createTasks({ i: [1, 2, 3], secs }));
      return wf;
    };
    const first = build(120);
    const id = await first.bind();
    await api(stack, 'POST', `/workflows/${id}/runs`, {});

    // Running for Slurm too, not only for us: the wrapper reports R from inside the job, and Slurm
    // must agree before the kill, or a CANCELLED afterwards would prove nothing about running jobs.
    const running = await waitFor(
      async () => {
        const rows = await instanceRows(stack.database.db, id);
        if (rows.length !== 3 || !rows.every((r) => r.status === 'R' && r.distributor_id)) return undefined;
        return rows.every((r) => jobState(r.distributor_id!) === 'RUNNING') ? rows : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'three nap jobs RUNNING in Slurm' },
    );
    const jobIds = running.map((r) => r.distributor_id!);
    const arrayIds = [...new Set(jobIds.map((j) => j.split('_')[0]))];
    for (const arrayId of arrayIds) {
      for (const job of await restJobs(arrayId)) expect(job.state).toBe('RUNNING');
    }

    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (t: string) => ((stdout += t), true) },
      stderr: { write: (t: string) => ((stderr += t), true) },
    };
    const killedAt = Date.now();
    const code = await runCli(['--api-url', stack.api.url, 'workflow', 'stop', String(id), '--kill'], io, {
      env: stack.env,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`workflow ${id}: stopping (running tasks are being killed)`);

    // The run ends S and the workflow H (resumable), well before the sleeps could have finished.
    const runRow = async () =>
      stack.database.db
        .selectFrom('workflow_run')
        .select(['id', 'status'])
        .where('workflow_id', '=', id)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
    await waitFor(async () => (await runRow()).status === 'S', {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the run to end STOPPED',
    });
    const wfRow = await stack.database.db
      .selectFrom('workflow')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(wfRow.status).toBe('H');
    const killed = await instanceRows(stack.database.db, id);
    expect(killed.map((r) => r.status)).toEqual(['F', 'F', 'F']);

    // Slurm's own word: every job CANCELLED (bounded: scancel reaches slurmd, which signals the step).
    await waitFor(async () => jobIds.every((j) => jobState(j) === 'CANCELLED'), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: `Slurm to show jobs ${jobIds.join(', ')} CANCELLED`,
    });
    for (const arrayId of arrayIds) {
      for (const job of await restJobs(arrayId)) expect(job.state).toBe('CANCELLED');
    }
    expect(Date.now() - killedAt).toBeLessThan(90_000);

    // The audit log has the kill, by the run it acted on.
    const events = await stack.database.db
      .selectFrom('workflow_event')
      .select(['action', 'result'])
      .where('workflow_id', '=', id)
      .orderBy('id')
      .execute();
    expect(events.map((e) => `${e.action}:${e.result}`)).toEqual(['start:ok', 'stop-kill:ok']);

    // Resume from the script with the command changed through op_args: same workflow, DONE.
    const second = build(0);
    expect(await second.run({ progress: false, secondsUntilTimeout: 170 })).toBe('D');
    expect(second.workflowId).toBe(id);
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 3 });
    const after = await instanceRows(stack.database.db, id);
    expect(after).toHaveLength(6);
    const fresh = after.filter((r) => !killed.some((k) => k.id === r.id));
    expect(fresh.map((r) => r.status)).toEqual(['D', 'D', 'D']);
    // New jobs, not the cancelled ones revived.
    for (const r of fresh) expect(jobIds).not.toContain(r.distributor_id);
    expect((await runRow()).status).toBe('D');
  }, 300_000);
});
