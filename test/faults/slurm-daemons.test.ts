/**
 * Slurm's own daemons SIGKILLed while Slurm jobs of a run are queued and running, on the real
 * one-node Slurm (scripts/slurm-up.sh), holding the Slurm tests' cross-file lock: slurmd (jobs keep
 * running under their slurmstepd; slurmd restarted), then slurmctld (restarted; it recovers its
 * jobs from its state files). Each run must finish with nothing lost or run twice. Skips, saying
 * why, without root or Slurm.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest';
import {
  ensureSlurm,
  healNode,
  killHard,
  nodeName,
  slurmdPid,
  startSlurmd,
  stopSlurm,
  whyNoGremlins,
  type SlurmHandle,
} from '../slurm/helpers';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { expectInvariants, runFaultScenario } from './support/scenario';
import { cancelEveryJob, slurmctldPid, startSlurmctld, sweepGhostJobs } from './support/slurm-daemons';
import { waitFor } from '../helpers/wait';

/** Slurm jobs start slower than local processes and the node has few slots: a smaller run. */
const SLURM_TASKS = Number(process.env.JMT_FAULT_SLURM_TASKS ?? 24);
const SLURM_COMMAND = 'sleep 2';

let slurm: SlurmHandle | undefined;
let skipReason: string | undefined;
let stack: FaultStack | undefined;

beforeAll(async () => {
  slurm = await ensureSlurm();
  skipReason = slurm.ok ? whyNoGremlins() : slurm.reason;
  if (skipReason) {
    console.warn(`SKIPPING the Slurm daemon faults: ${skipReason}`);
    return;
  }
  stack = await startFaultStack();
  // Jobs run as the job user, who must be able to write the task logs under the stack's home.
  chmodSync(stack.config.home, 0o755);
}, 620_000);
afterAll(async () => {
  await stack?.close();
  await stopSlurm(slurm);
}, 120_000);

function need(ctx: TestContext): FaultStack {
  if (!stack) ctx.skip();
  return stack as FaultStack;
}

const slurmWorkflow = {
  tasks: SLURM_TASKS,
  command: SLURM_COMMAND,
  cluster: 'slurm',
  queue: 'debug',
  injectAfterDone: Math.floor(SLURM_TASKS / 4),
  recovery: 'done' as const,
  timeoutS: 300,
  // Slurm's own view of the jobs and the node, for a run that does not finish.
  diagnose: () =>
    [
      execFileSync('squeue', ['-a', '-h', '-o', '%i %T %r %N'], { encoding: 'utf8' }),
      execFileSync('scontrol', ['show', 'node', '-o', nodeName()], { encoding: 'utf8' }),
    ].join(''),
};

describe('Slurm daemon faults', () => {
  it('slurmd SIGKILLed while jobs run, then restarted: the run finishes', async (ctx) => {
    const s = need(ctx);
    try {
      const result = await runFaultScenario(s, {
        ...slurmWorkflow,
        slug: 'slurmd-sigkill',
        fault: 'slurmd SIGKILL + restart',
        inject: async () => {
          await killHard([slurmdPid()!], 'slurmd');
          await startSlurmd();
          return { restoredAtMs: Date.now(), detectedAfterS: () => null };
        },
      });
      expectInvariants(result);
    } finally {
      await healNode();
    }
  }, 400_000);

  it('slurmctld SIGKILLed while jobs run and wait, then restarted: the run finishes', async (ctx) => {
    const s = need(ctx);
    let watchdog: NodeJS.Timeout | undefined;
    try {
      const result = await runFaultScenario(s, {
        ...slurmWorkflow,
        slug: 'slurmctld-sigkill',
        fault: 'slurmctld SIGKILL + restart',
        inject: async () => {
          await killHard([slurmctldPid()!], 'slurmctld');
          await startSlurmctld();
          // Slurm's own limits, not ours: a SIGKILLed slurmctld loses the job state written since
          // its last save. It hands the same job ids out again, and slurmd, still running the old
          // jobs, drains the node ("Duplicate jobid"); and jobs that ended just before the kill come
          // back RUNNING with nothing behind them, holding the node's CPUs until slurmd restarts. A
          // Slurm administrator resumes the node and cancels those ghosts; this watchdog does the
          // same while the run recovers (docs/reliability.md says so). The jobs of ours that Slurm
          // held after their launch failed are the distributor's to handle, and our invariants are
          // checked as for every fault.
          watchdog = setInterval(() => {
            try {
              const node = execFileSync('scontrol', ['show', 'node', '-o', nodeName()], { encoding: 'utf8' });
              if (/State=\S*DRAIN/.test(node) && /Reason=Duplicate jobid/i.test(node)) {
                execFileSync('scontrol', ['update', `NodeName=${nodeName()}`, 'State=RESUME']);
              }
              sweepGhostJobs();
            } catch {
              // slurmctld busy or restarting: the next tick looks again.
            }
          }, 1_000);
          return { restoredAtMs: Date.now(), detectedAfterS: () => null };
        },
      });
      expectInvariants(result);
    } finally {
      clearInterval(watchdog);
      await startSlurmctld();
      await healNode();
      // Whatever a failed run left queued must not hold the node for the Slurm tests that follow.
      cancelEveryJob();
      await waitFor(async () => slurmctldPid() !== undefined, { timeoutMs: 10_000, what: 'slurmctld' });
    }
  }, 400_000);
});
