/**
 * The REST client's version choice and its typed parsing per OpenAPI version, on answers recorded
 * from Slurm 24.11.5 (scripts/record-slurm-rest.sh → test/fixtures/slurm-rest/<version>/) and, for
 * v0.0.38, Slurm 22.05.8's shapes as documented in docs/slurm.md. No cluster needed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  partitionOf4x,
  recordOfDb,
  recordsOf38,
  recordsOf4x,
  submitBody,
} from '../../src/distributors/slurm/rest-backend';
import {
  chooseRestVersion,
  noVal,
  offeredVersions,
  offersSlurmdb,
  RestVersionError,
  type DbJob4x,
  type RestJob4x,
} from '../../src/distributors/slurm/rest-schema';
import { parseSacct } from '../../src/distributors/slurm/cli-backend';
import { describeEarlyEnd, slurmdMessage } from '../../src/distributors/slurm/exit-info';
import { oomKillCount } from '../../src/worker-node/oom';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'slurm-rest');
const fixture = <T>(file: string): T => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as T;
const CURRENT = ['v0.0.40', 'v0.0.41', 'v0.0.42'] as const;

describe('choosing the OpenAPI version from /openapi/v3', () => {
  const openapi = fixture<{ paths: Record<string, unknown> }>('openapi-24.11.5.json');

  it('reads what Slurm 24.11 offers and picks the highest we speak', () => {
    expect(offeredVersions(openapi)).toEqual(['v0.0.42', 'v0.0.41', 'v0.0.40']);
    expect(chooseRestVersion(offeredVersions(openapi))).toBe('v0.0.42');
    for (const v of CURRENT) expect(offersSlurmdb(openapi, v)).toBe(true);
  });

  it('takes a configured version the server offers, and refuses one it does not, naming both sets', () => {
    expect(chooseRestVersion(['v0.0.42', 'v0.0.41', 'v0.0.40'], 'v0.0.40')).toBe('v0.0.40');
    expect(() => chooseRestVersion(['v0.0.42', 'v0.0.41', 'v0.0.40'], 'v0.0.38')).toThrow(
      /rest_version v0.0.38 is not offered by slurmrestd \(it offers v0.0.42, v0.0.41, v0.0.40\)/,
    );
    expect(() => chooseRestVersion(['v0.0.42'], 'v0.0.39')).toThrow(/not one this worker speaks/);
  });

  it('refuses a server with none of ours in one line naming both sets (e.g. 26.05: v0.0.43-v0.0.45)', () => {
    const err = (() => {
      try {
        chooseRestVersion(['v0.0.45', 'v0.0.44', 'v0.0.43']);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RestVersionError);
    expect(err?.message).toBe(
      'slurmrestd offers OpenAPI v0.0.45, v0.0.44, v0.0.43; this worker speaks v0.0.42, v0.0.41, v0.0.40, v0.0.38: no version in common (use "mode": "cli", or a Slurm release serving one of ours)',
    );
    expect(err?.message).not.toContain('\n');
    // 22.05 (started with -s openapi/v0.0.38) lists v0.0.38 only: kept for it.
    const old = fixture<{ paths: Record<string, unknown> }>('openapi-22.05.8.json');
    expect(offeredVersions(old)).toEqual(['v0.0.38']);
    expect(chooseRestVersion(offeredVersions(old))).toBe('v0.0.38');
    expect(offersSlurmdb(old, 'v0.0.38')).toBe(false);
  });
});

describe.each(CURRENT)('Slurm 24.11 answers in %s', (version) => {
  const jobs = (file: string) => fixture<{ jobs: RestJob4x[] }>(`${version}/${file}`).jobs.flatMap(recordsOf4x);

  it('reads job_state arrays, exit_code objects and {set, infinite, number} numbers', () => {
    const finished = jobs('job-finished.json');
    const byTask = new Map(finished.map((r) => [r.arrayTaskId, r]));
    const arrayId = finished[0].arrayJobId;
    expect(arrayId).toMatch(/^\d+$/);
    expect(byTask.get(1)).toMatchObject({ key: `${arrayId}_1`, state: 'COMPLETED', exitCode: 0, reason: 'None' });
    expect(byTask.get(2)).toMatchObject({ state: 'FAILED', exitCode: 3, signal: undefined, reason: 'NonZeroExitCode' });
    // cgroup enforcement: OUT_OF_MEMORY, the return code unset, "signal" 125 as Slurm records it.
    expect(byTask.get(3)).toMatchObject({ state: 'OUT_OF_MEMORY', exitCode: undefined, signal: 125 });
    for (const r of finished) {
      expect(r).toMatchObject({ partition: 'debug', timeLimitMin: 2, memoryMb: 100, user: 'jmtuser' });
      expect(['n1', 'n2']).toContain(r.batchHost);
      expect(r.stdoutPath).toBe(`/tmp/jmt-slurm-record/${arrayId}_${r.arrayTaskId}.out`);
      expect(r.startTime).toBeGreaterThan(1_700_000_000);
    }
  });

  it('shows a throttle change made through REST (POST /job/{id} with array = the limit)', () => {
    expect(fixture<{ errors: unknown[] }>(`${version}/update-throttle.json`).errors).toEqual([]);
    expect(new Set(jobs('job-running.json').map((r) => r.throttle))).toEqual(new Set([3]));
    expect(new Set(jobs('job-throttled.json').map((r) => r.throttle))).toEqual(new Set([2]));
  });

  it('reads slurmdbd records: state, node, elapsed time and the batch step’s MaxRSS', () => {
    const task = fixture<{ jobs: DbJob4x[] }>(`${version}/db-job-task.json`).jobs.map(recordOfDb);
    expect(task).toHaveLength(1);
    expect(task[0]).toMatchObject({ state: 'OUT_OF_MEMORY', fromAccounting: true, arrayTaskId: 3 });
    expect(task[0].key).toBe(`${task[0].arrayJobId}_3`);
    expect(['n1', 'n2']).toContain(task[0].batchHost);
    expect(task[0].maxRssMb).toBeGreaterThan(0);
    expect(task[0].elapsedS).toBeGreaterThanOrEqual(0);
    const all = fixture<{ jobs: DbJob4x[] }>(`${version}/db-job.json`).jobs.map(recordOfDb);
    expect(all.map((r) => r.state).sort()).toEqual(['COMPLETED', 'COMPLETED', 'FAILED', 'OUT_OF_MEMORY']);
  });

  it('reads the partition limits and the unknown-job error', () => {
    const p = fixture<{ partitions: Record<string, unknown>[] }>(`${version}/partition.json`).partitions[0];
    expect(partitionOf4x('debug', p)).toEqual({
      name: 'debug',
      maxTimeMin: 60,
      maxMemoryMb: 1024,
      totalCpus: expect.any(Number),
      maxCpusPerNode: undefined,
    });
    const unknown = fixture<{ errors: { error_number: number }[] }>(`${version}/job-unknown.json`);
    expect(unknown.errors[0].error_number).toBe(2017);
  });
});

describe('request bodies per version', () => {
  const s = {
    user: 'jmtuser',
    name: 'a-1',
    partition: 'debug',
    script: '#!/bin/bash\ntrue\n',
    workDir: '/tmp/w',
    size: 3,
    throttle: 2,
    memoryMb: 300,
    timeLimitMin: 5,
    env: { PATH: '/usr/bin:/bin', A: 'b=c' },
  };
  it('v0.0.40+: script inside job, environment as NAME=value, numbers as {set, number}', () => {
    expect(submitBody('v0.0.42', s)).toEqual({
      job: expect.objectContaining({
        script: s.script,
        environment: ['PATH=/usr/bin:/bin', 'A=b=c'],
        memory_per_node: { set: true, infinite: false, number: 300 },
        time_limit: { set: true, infinite: false, number: 5 },
        array: '1-3%2',
        requeue: false,
      }),
    });
  });
  it("Slurm's own output: the work dir by default, else the task's stdout / stderr directories", () => {
    const job = (b: Record<string, unknown>) => b.job as Record<string, unknown>;
    expect(job(submitBody('v0.0.42', s))).toMatchObject({
      standard_output: '/tmp/w/%A_%a.out',
      standard_error: '/tmp/w/%A_%a.out',
    });
    expect(job(submitBody('v0.0.42', { ...s, outputPath: '/logs/o/%A_%a.out' }))).toMatchObject({
      standard_output: '/logs/o/%A_%a.out',
      standard_error: '/logs/o/%A_%a.out',
    });
    expect(
      job(submitBody('v0.0.42', { ...s, outputPath: '/logs/o/%A_%a.out', errorPath: '/logs/e/%A_%a.err' })),
    ).toMatchObject({ standard_output: '/logs/o/%A_%a.out', standard_error: '/logs/e/%A_%a.err' });
  });
  it('v0.0.38: script beside job, environment an object, plain numbers', () => {
    const body = submitBody('v0.0.38', s) as { script: string; job: Record<string, unknown> };
    expect(body.script).toBe(s.script);
    expect(body.job).toMatchObject({ environment: s.env, memory_per_node: 300, time_limit: 5 });
  });
  it('v0.0.38 job records: the raw wait status decoded, the state a string', () => {
    const [r] = recordsOf38({ job_id: 7, array_job_id: 6, array_task_id: 2, job_state: 'FAILED', exit_code: 768 });
    expect(r).toMatchObject({ key: '6_2', state: 'FAILED', exitCode: 3, signal: 0 });
    expect(noVal({ set: true, infinite: true, number: 5 })).toBeUndefined();
    expect(noVal({ set: false, number: 5 })).toBeUndefined();
  });
});

describe('accounting and launch failures without a cluster', () => {
  it('parses sacct -P lines: the job line, MaxRSS from its steps', () => {
    const out =
      '5_3|8|OUT_OF_MEMORY|0:125|n2|4||/tmp/w|jmtuser|debug|2026-12-03T11:53:52|None\n5_3.batch|8.batch|OUT_OF_MEMORY|0:125|n2|4|3744K|||||\n';
    expect(parseSacct(out, '5_3')).toMatchObject({
      key: '5_3',
      jobId: '8',
      arrayJobId: '5',
      arrayTaskId: 3,
      state: 'OUT_OF_MEMORY',
      batchHost: 'n2',
      elapsedS: 4,
      maxRssMb: 3.7,
      fromAccounting: true,
    });
    expect(parseSacct('', '5_3')).toBeUndefined();
  });

  it('reports a launch failure with slurmd’s own message, not retried when a path cannot be opened', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-slurmd-log-'));
    writeFileSync(
      path.join(dir, 'slurmd-n1.log'),
      '[2026-12-03T11:57:20.051] [14.batch] error: Could not open stdout file /tmp/noperm/14.out: Permission denied\n',
    );
    const record = {
      key: '13_2',
      jobId: '14',
      arrayJobId: '13',
      arrayTaskId: 2,
      state: 'FAILED',
      reason: 'RaisedSignal:53(Real-time_signal_19)',
      signal: 53,
      batchHost: 'n1',
    };
    const slurmd = slurmdMessage(path.join(dir, 'slurmd-%n.log'), record);
    expect(slurmd).toBe('Could not open stdout file /tmp/noperm/14.out: Permission denied');
    const early = describeEarlyEnd(record, slurmd);
    expect(early.retry).toBe(false);
    expect(early.message).toMatch(
      /FAILED \(RaisedSignal:53.*\), exit code \?:53: the job failed to launch; slurmd on n1 says: Could not open stdout file/,
    );
    expect(describeEarlyEnd(record, '').retry).toBe(true);
  });

  it('reads the memory cgroup’s OOM-kill count (v1 memory.oom_control, v2 memory.events)', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'jmt-cg-'));
    mkdirSync(path.join(root, 'memory', 'slurm_n1', 'job_5'), { recursive: true });
    writeFileSync(
      path.join(root, 'memory', 'slurm_n1', 'job_5', 'memory.oom_control'),
      'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    );
    writeFileSync(path.join(root, 'v1'), '5:cpu:/x\n4:memory:/slurm_n1/job_5\n');
    expect(oomKillCount(path.join(root, 'v1'), root)).toBe(2);
    mkdirSync(path.join(root, 'j'), { recursive: true });
    writeFileSync(path.join(root, 'j', 'memory.events'), 'low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n');
    writeFileSync(path.join(root, 'v2'), '0::/j\n');
    expect(oomKillCount(path.join(root, 'v2'), root)).toBe(1);
    expect(oomKillCount(path.join(root, 'missing'), root)).toBeUndefined();
  });
});
