/**
 * The host's Slurm 22.05 (scripts/slurm-up-22.05.sh: one node, no slurmdbd, REST v0.0.38 on
 * 127.0.0.1:6838) beside 24.11: the REST client picks v0.0.38 from its /openapi/v3, and the
 * sbatch/scontrol fallback runs a DAG there — what older sites and CLI-mode installs use.
 */
import { readFileSync } from 'node:fs';
import { chmodSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { toolOn } from '../e2e/helpers';
import {
  addSlurmCluster,
  ensureSlurm,
  instanceRows,
  JOB_USER,
  scontrolJob,
  sharedScratch,
  stopSlurm,
  type SlurmHandle,
} from './helpers';

let slurm: SlurmHandle | undefined;
let stack: TestStack;
let scratch: string;

beforeAll(async () => {
  slurm = await ensureSlurm('22.05');
  if (!slurm.ok) {
    console.warn(`SKIPPING the Slurm 22.05 tests: ${slurm.reason}`);
    return;
  }
  stack = await startTestStack();
  chmodSync(stack.config.home, 0o755);
  scratch = sharedScratch('jmt-slurm2205-');
  const common = { user: JOB_USER, bin_dir: '/usr/bin', slurmd_log: process.env.JMT_SLURM_SLURMD_LOG };
  await addSlurmCluster(stack.database.db, 'slurm-2205-rest', {
    ...common,
    mode: 'rest',
    rest_url: 'http://127.0.0.1:6838',
  });
  await addSlurmCluster(stack.database.db, 'slurm-2205-cli', { ...common, mode: 'cli' });
}, 620_000);

afterAll(async () => {
  await stack?.close();
  await stopSlurm(slurm);
}, 120_000);

const need = (ctx: TestContext) => {
  if (!slurm?.ok) ctx.skip();
};

describe.concurrent('Slurm 22.05 beside 24.11', () => {
  for (const [cluster, mode] of [
    ['slurm-2205-rest', 'REST v0.0.38'],
    ['slurm-2205-cli', 'sbatch/scontrol'],
  ] as const) {
    it(`runs a DAG to DONE through ${mode}`, async (ctx) => {
      need(ctx);
      const tool = toolOn(stack, `${cluster}-dag`);
      const a = tool.getTaskTemplate({
        templateName: 'a',
        commandTemplate: `echo {i} > ${scratch}/${cluster}-{i}`,
        nodeArgs: ['i'],
      });
      const b = tool.getTaskTemplate({
        templateName: 'b',
        commandTemplate: `cat ${scratch}/${cluster}-1 ${scratch}/${cluster}-2 > ${scratch}/${cluster}-all; echo "user=$(id -un)"`,
        nodeArgs: [],
      });
      const wf = tool.createWorkflow({
        workflowArgs: `${cluster}-dag`,
        defaultClusterName: cluster,
        defaultComputeResources: { queue: 'debug', memory: '200M', runtime: '5m' },
      });
      const as = a.createTasks({ i: [1, 2] });
      wf.addTasks([...as, b.createTask({ upstreamTasks: as })]);
      expect(await wf.run({ progress: false, secondsUntilTimeout: 170 })).toBe('D');
      expect(readFileSync(`${scratch}/${cluster}-all`, 'utf8').trim().split('\n')).toEqual(['1', '2']);
      const rows = await instanceRows(stack.database.db, wf.workflowId as number);
      const last = rows.find((r) => r.stdout_tail?.includes('user='));
      expect(last?.stdout_tail).toContain(`user=${JOB_USER}`);
      expect(scontrolJob(last!.distributor_id!)).toMatch(/JobState=COMPLETED/);
    }, 180_000);
  }
});
