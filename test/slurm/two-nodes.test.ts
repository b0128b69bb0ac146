/**
 * Failures only a current multi-node cluster shows, on Slurm 24.11 (two nodes, slurmdbd, cgroups;
 * scripts/slurm-up-24.11.sh), one at a time (they take a node away or break job launches):
 *
 * - one node dies mid-run: its slurmd and every job process on it killed, and it stays down.
 *   slurmctld notices after SlurmdTimeout and ends its jobs NODE_FAIL; their tasks are lost (U),
 *   retried, and finish on the other node — each task DONE exactly once, none run twice at once;
 * - a job slurmd cannot launch (its output directory unreachable for the job account): reported
 *   with Slurm's state and reason and slurmd's own message, and not retried (a retry would fail the
 *   same way).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { instances, tasksRunTwiceAtOnce, taskStatusCounts, toolOn } from '../e2e/helpers';
import {
  addSlurmCluster,
  ensureSlurm,
  healNode,
  instanceRows,
  JOB_USER,
  killHard,
  nodeNames,
  nodeState,
  scontrolJob,
  sharedScratch,
  slurmdPid,
  stopSlurm,
  whyNoGremlins,
  type SlurmHandle,
} from './helpers';

let slurm: SlurmHandle | undefined;
let stack: TestStack;
let scratch: string;
const measured: Record<string, number | string> = {};

beforeAll(async () => {
  slurm = await ensureSlurm('24.11');
  if (!slurm.ok) {
    console.warn(`SKIPPING the two-node Slurm tests: ${slurm.reason}`);
    return;
  }
  stack = await startTestStack();
  chmodSync(stack.config.home, 0o755);
  scratch = sharedScratch('jmt-slurm2-');
}, 620_000);

afterAll(async () => {
  if (Object.keys(measured).length) console.log(`slurm 24.11 two-node measurements: ${JSON.stringify(measured)}`);
  await stack?.close();
  await stopSlurm(slurm);
}, 120_000);

function needTwoNodes(ctx: TestContext): void {
  if (!slurm?.ok) ctx.skip();
  const why = whyNoGremlins();
  if (why || nodeNames().length < 2) {
    console.warn(`SKIPPING a two-node test: ${why ?? 'fewer than two nodes'}`);
    ctx.skip();
  }
}

const db = () => stack.database.db;
const batchHost = (id: string): string | undefined => /BatchHost=(\S+)/.exec(scontrolJob(id))?.[1];

/** Pids of `root` and everything below it. */
function processTree(root: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const tree = [root];
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (tree.includes(ppid) && !tree.includes(pid)) {
        tree.push(pid);
        grew = true;
      }
    }
  }
  return tree;
}
const parentOf = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);

describe('Slurm 24.11 with two nodes', () => {
  it('one node dies mid-run and stays down: its jobs are lost (NODE_FAIL), retried, and finish on the other node, each task DONE once', async (ctx) => {
    needTwoNodes(ctx);
    const tool = toolOn(stack, 'slurm-node-dies');
    const t = tool.getTaskTemplate({
      templateName: 'steady',
      commandTemplate: `if [ -f ${scratch}/started-{i} ]; then echo "second on $SLURMD_NODENAME"; exit 0; fi; touch ${scratch}/started-{i}; sleep 150`,
      nodeArgs: ['i'],
    });
    const wf = tool.createWorkflow({
      workflowArgs: 'slurm-node-dies',
      defaultClusterName: 'slurm',
      defaultComputeResources: { queue: 'debug', memory: '200M', runtime: '5m', cores: 1 },
    });
    wf.addTasks(t.createTasks({ i: [1, 2, 3, 4], maxAttempts: 3 }));
    const result = wf.run({ progress: false, secondsUntilTimeout: 280 });
    let dead = '';
    let killedAt = 0;
    try {
      // All four running (two CPUs per node): some on each node, or all on one.
      const running = await waitFor(
        async () => {
          const rows = (await instanceRows(db(), wf.workflowId as number)).filter((r) => r.status === 'R');
          return rows.length === 4 && [1, 2, 3, 4].every((i) => existsSync(`${scratch}/started-${i}`)) && rows;
        },
        { timeoutMs: 90_000, intervalMs: 250, what: 'four tasks running' },
      );
      dead = batchHost(running[0].distributor_id!) ?? nodeNames()[0];
      const onDead = running.filter((r) => batchHost(r.distributor_id!) === dead);
      // The node's slurmd and, for each job on it, its slurmstepd and everything below: a dead machine.
      const victims = [slurmdPid(dead)!];
      for (const r of onDead) victims.push(parentOf(r.process_id!), ...processTree(r.process_id!));
      killedAt = Date.now();
      await killHard(victims, `node ${dead}`);
      expect(await result).toBe('D');
    } finally {
      const rows = await instanceRows(db(), wf.workflowId as number);
      measured.lostAfterNodeDeathS = Math.max(
        0,
        ...rows.filter((r) => r.status === 'U').map((r) => (new Date(r.status_date).getTime() - killedAt) / 1000),
      );
      measured.nodeStateSeen = dead ? nodeState(dead) : '';
      await healNode();
    }
    const rows = await instanceRows(db(), wf.workflowId as number);
    const lost = rows.filter((r) => r.status === 'U');
    expect(lost.length).toBeGreaterThan(0);
    for (const r of lost) expect(r.errors.join('\n')).toMatch(/NODE_FAIL|lost with its node/);
    expect(await taskStatusCounts(db(), wf.workflowId as number)).toEqual({ D: 4 });
    // Each task DONE exactly once, never two instances of one task running at once.
    const done = rows.filter((r) => r.status === 'D');
    expect(new Set(done.map((r) => r.task_id)).size).toBe(4);
    expect(done).toHaveLength(4);
    for (const r of done.filter((d) => lost.some((l) => l.task_id === d.task_id)))
      expect(r.stdout_tail).toMatch(/second on n\d/);
    expect(tasksRunTwiceAtOnce(await instances(db(), wf.workflowId as number))).toEqual([]);
    // Detection: SlurmdTimeout (30 s) + slurmctld's ping sweep + one monitor poll.
    expect(measured.lostAfterNodeDeathS).toBeLessThan(150);
  }, 300_000);

  it('a job slurmd cannot launch (output directory unreachable): Slurm’s state and reason and slurmd’s message, not retried', async (ctx) => {
    needTwoNodes(ctx);
    // The batch directories are created (and handed to the job account) under a directory the job
    // account cannot enter: slurmstepd, running as the account, cannot open the output file.
    const locked = path.join(scratch, 'locked');
    mkdirSync(locked, { recursive: true });
    await addSlurmCluster(db(), 'slurm-locked', {
      mode: 'rest',
      user: JOB_USER,
      script_dir: path.join(locked, 'slurm'),
      bin_dir: process.env.JMT_SLURM_BIN,
      slurmd_log: process.env.JMT_SLURM_SLURMD_LOG,
    });
    chmodSync(locked, 0o700);
    const tool = toolOn(stack, 'slurm-launch-failure');
    const t = tool.getTaskTemplate({ templateName: 'never', commandTemplate: 'echo never {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'slurm-launch-failure',
      defaultClusterName: 'slurm-locked',
      defaultComputeResources: { queue: 'debug', memory: '200M', runtime: '5m' },
    });
    wf.addTask(t.createTask({ i: 1, maxAttempts: 3 }));
    const t0 = Date.now();
    expect(await wf.run({ progress: false, secondsUntilTimeout: 170 })).toBe('E');
    const rows = await instanceRows(db(), wf.workflowId as number);
    const message = rows[0].errors.join('\n');
    expect(
      rows.map((r) => r.status),
      message,
    ).toEqual(['F']);
    expect(message).toMatch(/job failed to launch: Slurm job \d+_1: FAILED/);
    expect(message).toMatch(/slurmd on n\d says: Could not open stdout file .*: Permission denied/);
    expect(message).not.toMatch(/no longer knows it/);
    measured.launchFailureReportedAfterS = (new Date(rows[0].status_date).getTime() - t0) / 1000;
  }, 200_000);
});
