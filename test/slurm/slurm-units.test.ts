/**
 * The Slurm distributor's pure parts, without a cluster: reading Slurm's answers, the failure
 * mapping, resource translation and partition checks, the entry script, the job environment, and
 * the wrapper's reading of a batch system's signal.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyEnd, jobcompRecord, readSlurmOutput } from '../../src/distributors/slurm/exit-info';
import { pendingAdvice } from '../../src/domain/pending-reasons';
import {
  decodeWaitStatus,
  expandOutputPattern,
  expandTaskString,
  parseDistributorId,
  type SlurmJobRecord,
} from '../../src/distributors/slurm/job-record';
import {
  keyValues,
  parseSacct,
  parseSlurmMinutes,
  SACCT_FIELDS_WITH_OUTPUT,
} from '../../src/distributors/slurm/cli-backend';
import { partitionProblems, toSlurmRequest } from '../../src/distributors/slurm/resources';
import { WRAPPER_MEMORY_MB } from '../../src/domain/wrapper-memory';
import { entryScript } from '../../src/distributors/slurm/entry-script';
import { jobEnvironment, SEALED_DEFAULT_PATH } from '../../src/distributors/slurm/environment';
import { parseSlurmSettings, SlurmConfigError } from '../../src/distributors/slurm/settings';
import { BannerWatch, batchSignalVerdict } from '../../src/worker-node/batch-signal';
import { SlurmDistributor } from '../../src/distributors/slurm/slurm-distributor';
import { UNKNOWN_JOB, type SlurmBackend } from '../../src/distributors/slurm/backend';
import { loadConfig } from '../../src/config';

const rec = (over: Partial<SlurmJobRecord>): SlurmJobRecord => ({
  key: '7_1',
  jobId: '8',
  arrayJobId: '7',
  arrayTaskId: 1,
  state: 'FAILED',
  reason: '',
  stdoutPath: '/x/7_1.out',
  ...over,
});

describe('Slurm failure mapping', () => {
  it.each([
    ['OUT_OF_MEMORY', rec({ state: 'OUT_OF_MEMORY', exitCode: 0, signal: 9 }), '', 'Z'],
    [
      'FAILED 0:9 with the memory notice',
      rec({ exitCode: 0, signal: 9 }),
      'slurmstepd-vm: error: Exceeded job memory limit',
      'Z',
    ],
    ['TIMEOUT', rec({ state: 'TIMEOUT', exitCode: 0, signal: 15 }), '', 'Z'],
    ['CANCELLED', rec({ state: 'CANCELLED', exitCode: 0, signal: 15 }), '', 'F'],
    ['NODE_FAIL', rec({ state: 'NODE_FAIL', exitCode: 0, signal: 1 }), '', 'U'],
    ['PREEMPTED', rec({ state: 'PREEMPTED' }), '', 'U'],
    ['FAILED 0:9 without notice (kill -9)', rec({ exitCode: 0, signal: 9 }), 'worker-node ti=1: started', 'U'],
    ['FAILED 137:0', rec({ exitCode: 137, signal: 0 }), '', 'U'],
    ['FAILED 199:0 (wrapper failure)', rec({ exitCode: 199, signal: 0 }), '', 'E'],
    ['COMPLETED without report', rec({ state: 'COMPLETED', exitCode: 0, signal: 0 }), '', 'U'],
  ])('%s → %s', (_name, record, output, status) => {
    expect(classifyEnd(record, output).status).toBe(status);
  });

  it('quotes the end of Slurm’s output in the message', () => {
    const info = classifyEnd(rec({ exitCode: 0, signal: 9 }), 'line 1\nslurmstepd: error: Exceeded job memory limit\n');
    expect(info.message).toMatch(/memory/);
    expect(info.message).toContain('/x/7_1.out');
    expect(info.message).toContain('Exceeded job memory limit');
  });

  it('reads the .err file too when stderr is set separately (slurmstepd writes its notices there)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-slurm-out-'));
    const record = rec({
      exitCode: 0,
      signal: 9,
      stdoutPath: path.join(dir, '7_1.out'),
      stderrPath: path.join(dir, '7_1.err'),
    });
    writeFileSync(record.stdoutPath!, 'worker-node ti=1: started\n');
    writeFileSync(record.stderrPath!, 'slurmstepd: error: Exceeded job memory limit\n');
    const info = classifyEnd(record, readSlurmOutput(record));
    expect(info.status).toBe('Z');
    expect(info.message).toContain(`Slurm output (${record.stdoutPath}) ends:\nworker-node ti=1: started`);
    expect(info.message).toContain(`Slurm error output (${record.stderrPath}) ends:\nslurmstepd: error: Exceeded`);
    // Only the output file when stderr went there.
    expect(readSlurmOutput({ ...record, stderrPath: undefined }).stderr).toBe('');
  });

  it('takes Slurm’s own output paths from sacct where it has StdOut/StdErr, else guesses from the work dir', () => {
    const fields = [
      ...['5_3', '12', 'FAILED', '0:9', 'n1', '4', '', '/w', 'jmtuser', 'debug', '2026-12-03T18:00:00', 'None'],
      ...['/logs/out/5_3.out', '/logs/err/5_3.err'],
    ];
    const withOutput = parseSacct(fields.join('|'), '5_3', SACCT_FIELDS_WITH_OUTPUT);
    expect(withOutput).toMatchObject({ stdoutPath: '/logs/out/5_3.out', stderrPath: '/logs/err/5_3.err' });
    expect(withOutput?.outputFromWorkDir).toBeUndefined();
    expect(parseSacct(fields.slice(0, 12).join('|'), '5_3')).toMatchObject({
      stdoutPath: '/w/5_3.out',
      outputFromWorkDir: true,
    });
  });

  it('finds purged array tasks in the jobcomp/filetxt log (state counts, not its 0:0)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-jobcomp-'));
    const log = path.join(dir, 'jobcomp.log');
    writeFileSync(
      log,
      [
        'JobId=40 UserId=u(1) GroupId=g(1) Name=a JobState=COMPLETED Partition=debug WorkDir=/w ExitCode=0:0 ArrayJobId=39 ArrayTaskId=2',
        'JobId=39 UserId=u(1) GroupId=g(1) Name=a JobState=TIMEOUT Partition=debug WorkDir=/w ExitCode=0:0 ArrayJobId=39 ArrayTaskId=1',
        'JobId=5 UserId=u(1) GroupId=g(1) Name=b JobState=FAILED Partition=debug WorkDir=/v ExitCode=3:0',
      ].join('\n') + '\n',
    );
    expect(jobcompRecord(log, '39', 1)).toMatchObject({ key: '39_1', state: 'TIMEOUT', stdoutPath: '/w/39_1.out' });
    expect(jobcompRecord(log, '39', 2)?.state).toBe('COMPLETED');
    expect(jobcompRecord(log, '5', undefined)).toMatchObject({ state: 'FAILED', exitCode: 3 });
    expect(jobcompRecord(log, '39', 3)).toBeUndefined();
    expect(classifyEnd(jobcompRecord(log, '39', 1)!, '').status).toBe('Z');
  });
});

describe('reading Slurm', () => {
  it('decodes REST v0.0.38 exit codes (raw wait status)', () => {
    expect(decodeWaitStatus(768)).toEqual({ exitCode: 3, signal: 0 });
    expect(decodeWaitStatus(9)).toEqual({ exitCode: 0, signal: 9 });
    expect(decodeWaitStatus(undefined)).toEqual({});
  });

  it('expands pending array task strings, output patterns and distributor ids', () => {
    expect(expandTaskString('3-5,9,12-16:2%2')).toEqual([3, 4, 5, 9, 12, 14, 16]);
    expect(expandOutputPattern('/d/%A_%a.out', { jobId: '9', arrayJobId: '7', arrayTaskId: 3 })).toBe('/d/7_3.out');
    expect(parseDistributorId('12_4')).toEqual({ arrayJobId: '12', taskId: 4 });
    expect(() => parseDistributorId('local:vm:1:ab')).toThrow();
  });

  it('parses scontrol one-line output and Slurm times', () => {
    const kv = keyValues(
      'JobId=46 ArrayJobId=45 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=x UserId=jmtuser(1001) JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 TimeLimit=00:02:00',
    );
    expect(kv).toMatchObject({
      JobId: '46',
      ArrayJobId: '45',
      JobState: 'FAILED',
      ExitCode: '3:0',
      ArrayTaskThrottle: '2',
    });
    expect(parseSlurmMinutes('01:00:00')).toBe(60);
    expect(parseSlurmMinutes('1-00:00:00')).toBe(1440);
    expect(parseSlurmMinutes('5')).toBe(5);
    expect(parseSlurmMinutes('00:00:05')).toBe(1);
    expect(parseSlurmMinutes('UNLIMITED')).toBeUndefined();
  });
});

describe('resources on Slurm', () => {
  it('translates memory GiB → MB, runtime s → minutes rounded up, cores, queue → partition', () => {
    expect(toSlurmRequest({ queue: 'all.q', memory: 1.5, runtime: 61, cores: 2 }, { 'all.q': 'long' })).toEqual({
      partition: 'long',
      // The job asks for the task's memory plus the wrapper's share (it runs in the same limit).
      memoryMb: 1536 + WRAPPER_MEMORY_MB,
      taskMemoryMb: 1536,
      timeLimitMin: 2,
      cpusPerTask: 2,
      account: undefined,
      qos: undefined,
      constraints: undefined,
    });
    expect(toSlurmRequest({ queue: 'debug', runtime: 5 }, {}).timeLimitMin).toBe(1);
    // Jobmon's `project` is Slurm's account, as its Slurm plugin submits it; `account` wins.
    expect(toSlurmRequest({ queue: 'debug', project: 'proj_a' }, {}).account).toBe('proj_a');
    expect(toSlurmRequest({ queue: 'debug', project: 'proj_a', account: 'acct_b' }, {}).account).toBe('acct_b');
  });

  it('refuses what the partition can never run, naming the limit', () => {
    const debug = { name: 'debug', maxTimeMin: 60, maxMemoryMb: 1024, totalCpus: 2 };
    expect(partitionProblems({ partition: 'debug', memoryMb: 1024, timeLimitMin: 60, cpusPerTask: 2 }, debug)).toEqual(
      [],
    );
    expect(partitionProblems({ partition: 'debug', memoryMb: 2048, timeLimitMin: 61, cpusPerTask: 4 }, debug)).toEqual([
      "runtime 61 min exceeds partition debug's MaxTime of 60 min",
      "memory 2048 MB exceeds partition debug's MaxMemPerNode of 1024 MB",
      'cores 4 exceeds the 2 CPUs partition debug has per node',
    ]);
    expect(partitionProblems({ partition: 'nope' }, undefined)[0]).toMatch(/does not exist/);
    // A 1 GiB task does not fit a 1024 MB partition once the wrapper's share is added, and the message says so.
    const oneGiB = toSlurmRequest({ queue: 'debug', memory: 1 }, {});
    expect(partitionProblems(oneGiB, debug)).toEqual([
      `memory ${1024 + WRAPPER_MEMORY_MB} MB (the task's 1024 MB + the wrapper's ${WRAPPER_MEMORY_MB} MB) exceeds partition debug's MaxMemPerNode of 1024 MB`,
    ]);
  });
});

describe('the job side', () => {
  it('maps array task ids to task instances in a bash entry script that runs', () => {
    const script = entryScript({
      batchId: 3,
      chunk: 1,
      taskInstanceIds: [101, 102, 103],
      nodeBin: '/bin/echo',
      wrapperPath: "/p/it's/main.js",
      apiUrl: 'http://127.0.0.1:1',
      timeLimitS: 120,
    });
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    const out = execFileSync('bash', ['-c', script], {
      env: { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_JOB_ID: '77', PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(
      "/p/it's/main.js --task-instance-id 102 --api-url http://127.0.0.1:1 --distributor-id 77_2",
    );
    const env = execFileSync(
      'bash',
      ['-c', script.replace(/^exec .*$/m, 'echo "$JMT_TIME_LIMIT_AT $JMT_SIGNAL_ERROR_STATE"')],
      { env: { SLURM_ARRAY_TASK_ID: '1', PATH: process.env.PATH }, encoding: 'utf8' },
    );
    const [limitAt, state] = env.trim().split(' ');
    expect(Number(limitAt) - Date.now() / 1000).toBeGreaterThan(100);
    expect(state).toBe('F');
    expect(() => execFileSync('bash', ['-c', script], { env: { SLURM_ARRAY_TASK_ID: '9' }, stdio: 'pipe' })).toThrow();
  });

  it('propagates the worker environment, or seals it to the named variables', () => {
    const base = {
      PATH: '/opt/conda/bin:/usr/bin',
      CONDA_PREFIX: '/opt/conda/envs/x',
      DATABASE_URL: 'postgres://secret',
      SLURM_JOB_ID: '9',
      NODE_OPTIONS: '--require x',
      KEEP: '1',
    };
    const propagated = jobEnvironment({
      mode: 'propagate',
      passEnv: [],
      base,
      token: 't',
      identity: { user: 'jmtuser', home: '/home/jmtuser' },
    });
    expect(propagated).toMatchObject({
      PATH: '/opt/conda/bin:/usr/bin',
      CONDA_PREFIX: '/opt/conda/envs/x',
      KEEP: '1',
      JMT_TOKEN: 't',
      HOME: '/home/jmtuser',
      USER: 'jmtuser',
    });
    expect(propagated).not.toHaveProperty('DATABASE_URL');
    expect(propagated).not.toHaveProperty('SLURM_JOB_ID');
    expect(propagated).not.toHaveProperty('NODE_OPTIONS');
    const sealed = jobEnvironment({ mode: 'sealed', passEnv: ['KEEP', 'ABSENT'], base });
    expect(sealed).toEqual({ KEEP: '1', PATH: SEALED_DEFAULT_PATH });
  });

  it('reads what a batch system declared a termination signal to mean', () => {
    const now = Date.now();
    expect(
      batchSignalVerdict({ JMT_TIME_LIMIT_AT: String(now / 1000 - 1), JMT_SIGNAL_ERROR_STATE: 'F' }, now)?.state,
    ).toBe('Z');
    expect(
      batchSignalVerdict({ JMT_TIME_LIMIT_AT: String(now / 1000 + 60), JMT_SIGNAL_ERROR_STATE: 'F' }, now)?.state,
    ).toBe('F');
    expect(batchSignalVerdict({}, now)).toBeUndefined();
  });

  it('takes Slurm’s own banner over the environment: requeue, preemption and node failure are retried', () => {
    const now = Date.now();
    const env = { SLURM_JOB_ID: '228', JMT_TIME_LIMIT_AT: String(now / 1000 + 60), JMT_SIGNAL_ERROR_STATE: 'F' };
    const banner = (due: string) => `slurmstepd: error: *** JOB 228 ON vm CANCELLED AT 2026-11-25T22:58:00${due} ***\n`;
    expect(batchSignalVerdict(env, now, banner(' DUE TO JOB REQUEUE'))).toMatchObject({
      state: 'U',
      reason: expect.stringMatching(/job requeue/),
    });
    expect(batchSignalVerdict(env, now, banner(' DUE TO PREEMPTION'))?.state).toBe('U');
    expect(batchSignalVerdict(env, now, banner(' DUE TO NODE FAILURE, SEE SLURMCTLD LOG FOR DETAILS'))?.state).toBe(
      'U',
    );
    expect(batchSignalVerdict(env, now, banner(' DUE TO TIME LIMIT'))?.state).toBe('Z');
    // A bare cancel is someone's scancel: the environment's verdict (F) stands.
    expect(batchSignalVerdict(env, now, banner(''))?.state).toBe('F');
    // The last banner counts, and only one about this job.
    expect(batchSignalVerdict(env, now, banner(' DUE TO JOB REQUEUE') + banner(''))?.state).toBe('F');
    expect(batchSignalVerdict(env, now, banner(' DUE TO JOB REQUEUE').replace('228', '229'))?.state).toBe('F');
  });

  it('reads only what was written to the banner file after the wrapper started', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-banner-'));
    const file = path.join(dir, 'job.err');
    writeFileSync(file, '*** JOB 7 ON vm CANCELLED AT 2026-11-25T22:00:00 DUE TO JOB REQUEUE ***\n');
    const watch = BannerWatch.start({ JMT_SIGNAL_BANNER_FILE: file });
    expect(watch.read()).toBe('');
    appendFileSync(file, '*** JOB 7 ON vm CANCELLED AT 2026-11-25T22:05:00 ***\n');
    expect(watch.read()).toMatch(/22:05:00 \*\*\*/);
    expect(BannerWatch.start({}).read()).toBe('');
    expect(BannerWatch.start({ JMT_SIGNAL_BANNER_FILE: path.join(dir, 'missing') }).read()).toBe('');
  });
});

describe('slurm connection_parameters', () => {
  it('has defaults for the local cluster and rejects nonsense', () => {
    const s = parseSlurmSettings({}, {});
    expect(s).toMatchObject({ mode: 'rest', restUrl: 'http://127.0.0.1:6820', environment: 'propagate' });
    expect(parseSlurmSettings({ mode: 'cli', environment: 'sealed', pass_env: ['A'] }, {})).toMatchObject({
      mode: 'cli',
      passEnv: ['A'],
    });
    expect(() => parseSlurmSettings({ mode: 'ssh' }, {})).toThrow(SlurmConfigError);
    expect(() => parseSlurmSettings({ pass_env: ['1BAD'] }, {})).toThrow(/pass_env/);
  });

  it('takes the job Node from node_bin, then JMT_SLURM_NODE_BIN, then the services own', () => {
    expect(parseSlurmSettings({}, {}).nodeBin).toBe(process.execPath);
    expect(parseSlurmSettings({}, { JMT_SLURM_NODE_BIN: '/opt/node/bin/node' }).nodeBin).toBe('/opt/node/bin/node');
    expect(parseSlurmSettings({ node_bin: '/x/node' }, { JMT_SLURM_NODE_BIN: '/opt/node/bin/node' }).nodeBin).toBe(
      '/x/node',
    );
  });
});

/** A backend answering from fixed records; the real one is exercised in slurm.test.ts. */
function fakeBackend(record: SlurmJobRecord | SlurmJobRecord[], slurmdStart: number | undefined, cancelFails = false) {
  const cancelled: string[][] = [];
  const backend: SlurmBackend = {
    mode: 'rest',
    submitArray: async () => '1',
    arrayJobs: async () => (Array.isArray(record) ? record : record ? [record] : UNKNOWN_JOB),
    cancel: async (ids) => {
      if (cancelFails) throw new Error('slurmctld busy');
      cancelled.push(ids);
    },
    setThrottle: async () => undefined,
    partition: async () => undefined,
    slurmdStartTime: async () => slurmdStart,
  };
  // report_by = 1 s × 3.1; a 1-ms cache, so every ask reads the fake again.
  const distributor = new SlurmDistributor(
    {
      owners: { ofWorkflow: async () => undefined, ofArray: async () => undefined },
      completeInstances: async () => 0,
      config: loadConfig({ taskInstanceHeartbeatS: 1, reportByBuffer: 3.1 }),
      apiUrl: 'http://127.0.0.1:1',
      connectionParameters: { status_cache_s: 0.001 },
    },
    { backend, log: () => undefined },
  );
  return { distributor, cancelled };
}

describe('the node-crash rule (a RUNNING job whose node restarted its slurmd and whose wrapper is silent)', () => {
  const running = rec({ state: 'RUNNING', batchHost: 'vm', startTime: 1_000 });

  it('counts the job alive at the first ask, declares it lost (U) and cancels it at the second', async () => {
    const { distributor, cancelled } = fakeBackend(running, 1_003);
    expect([...(await distributor.liveJobs(['7_1']))]).toEqual(['7_1']);
    expect(cancelled).toEqual([]);
    expect([...(await distributor.liveJobs(['7_1']))]).toEqual([]);
    expect(cancelled).toEqual([['7_1']]);
    const info = await distributor.remoteExitInfo('7_1');
    expect(info.status).toBe('U');
    expect(info.message).toMatch(/slurmd restarted .* after the job started/);
  });

  it('leaves a job alone when slurmd started before the job, or its start is unknown', async () => {
    for (const slurmdStart of [999, 1_000, undefined]) {
      const { distributor, cancelled } = fakeBackend(running, slurmdStart);
      for (let i = 0; i < 3; i++) expect([...(await distributor.liveJobs(['7_1']))]).toEqual(['7_1']);
      expect(cancelled).toEqual([]);
    }
  });

  it('does not apply to pending jobs (no batch host yet)', async () => {
    const { distributor, cancelled } = fakeBackend(rec({ state: 'PENDING' }), 1_003);
    for (let i = 0; i < 3; i++) expect([...(await distributor.liveJobs(['7_1']))]).toEqual(['7_1']);
    expect(cancelled).toEqual([]);
  });
});

describe('the pending reason of a batch (progress risks, GUI)', () => {
  it('gives the most common reason Slurm keeps the asked jobs waiting, from what liveJobs read', async () => {
    const ids = ['7_1', '7_2', '7_3', '7_4', '7_5'];
    const records = [
      rec({ key: '7_1', state: 'PENDING', reason: 'Resources' }),
      rec({ key: '7_2', state: 'PENDING', reason: 'QOSMaxJobsPerUserLimit' }),
      rec({ key: '7_3', state: 'PENDING', reason: 'QOSMaxJobsPerUserLimit' }),
      rec({ key: '7_4', state: 'PENDING', reason: 'JobArrayTaskLimit' }),
      rec({ key: '7_5', state: 'RUNNING', reason: 'None' }),
    ];
    const { distributor } = fakeBackend(records, undefined);
    // Nothing read yet: nothing to say.
    expect(distributor.pendingReason(ids)).toBeNull();
    expect([...(await distributor.liveJobs(ids))].sort()).toEqual(ids);
    expect(distributor.pendingReason(ids)).toBe('QOSMaxJobsPerUserLimit');
    expect(distributor.pendingReason(['7_1'])).toBe('Resources');
    // The array's own throttle and a running job are not the cluster keeping anything waiting.
    expect(distributor.pendingReason(['7_4', '7_5'])).toBeNull();
  });

  it('advises on Slurm’s reasons, the reason itself shown as Slurm gave it', () => {
    expect(pendingAdvice('Resources')).toMatch(/ask for less/);
    expect(pendingAdvice('ReqNodeNotAvail,_UnavailableNodes:n1,n2')).toMatch(/down or drained/);
    expect(pendingAdvice('QOSMaxJobsPerUserLimit')).toMatch(/QOS or account limit/);
    expect(pendingAdvice('SomethingNew')).toMatch(/squeue -j <job id> -o %r/);
  });
});

describe('pending jobs Slurm will never start by itself', () => {
  it('cancels a job held after a failed launch and reports it gone, with Slurm’s reason', async () => {
    const { distributor, cancelled } = fakeBackend(
      rec({ state: 'PENDING', reason: 'launch_failed_requeued_held' }),
      undefined,
    );
    expect([...(await distributor.liveJobs(['7_1']))]).toEqual([]);
    expect(cancelled).toEqual([['7_1']]);
    expect(distributor.queueingError('7_1')).toMatch(/PENDING with reason launch_failed_requeued_held.*cancelled/);
    // Said once: the monitor records it with the instance.
    expect(distributor.queueingError('7_1')).toBeUndefined();
  });

  it('does not read its own cancel as a cancel from outside (F): the launch check defers to the queueing error', async () => {
    const held = rec({ state: 'PENDING', reason: 'launch_failed_requeued_held' });
    const { distributor } = fakeBackend(held, undefined);
    expect([...(await distributor.liveJobs(['7_1']))]).toEqual([]);
    held.state = 'CANCELLED'; // what slurmctld reports once the cancel is through
    expect(await distributor.launchFailure('7_1')).toBeUndefined();
    expect(distributor.queueingError('7_1')).toMatch(/cancelled$/);
  });

  it('leaves deliberate holds and ordinary waits alone', async () => {
    for (const reason of [
      'JobHeldUser',
      'JobHeldAdmin',
      'Resources',
      'Priority',
      'ReqNodeNotAvail,_UnavailableNodes:vm',
      '',
    ]) {
      const { distributor, cancelled } = fakeBackend(rec({ state: 'PENDING', reason }), undefined);
      expect([...(await distributor.liveJobs(['7_1']))]).toEqual(['7_1']);
      expect(cancelled).toEqual([]);
    }
  });

  it('keeps the job alive when it cannot be cancelled, so it is never retried beside itself', async () => {
    const { distributor, cancelled } = fakeBackend(
      rec({ state: 'PENDING', reason: 'JobLaunchFailure' }),
      undefined,
      true,
    );
    expect([...(await distributor.liveJobs(['7_1']))]).toEqual(['7_1']);
    expect(cancelled).toEqual([]);
    expect(distributor.queueingError('7_1')).toBeUndefined();
  });
});
