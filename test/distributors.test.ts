/**
 * The distributors: local ones run the real (freshly compiled) worker-node wrapper against a fake
 * API that timestamps every callback, which is how parallelism limits are proven; the dummy one
 * completes instances in a real Postgres.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../src/config';
import type { SubmitRequest } from '../src/distributors/distributor';
import {
  createDistributor,
  DummyDistributor,
  LocalProcessDistributor,
  LocalSlotPool,
  multiprocessParallelism,
} from '../src/distributors';
import { bindAll } from '../src/sql/bind';
import { loadBatch } from '../src/sql/batches';
import { completeInstancesBulk } from '../src/sql/task-instance-reports';
import { workflowOwners } from '../src/sql/workflow-owners';
import { createRun, markRunStarted } from '../src/sql/runs';
import { scheduleReadyTasks } from '../src/sql/scheduling';
import { isProcessAlive } from '../src/worker-node/proc';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { FakeWrapperApi, type RecordedCall } from './helpers/fake-wrapper-api';
import { waitFor } from './helpers/wait';
import { buildWrapper, type BuiltWrapper } from './helpers/wrapper-build';

let wrapper: BuiltWrapper;
let api: FakeWrapperApi;
let dir: string;
let nextTi = 1;
const distributors: LocalProcessDistributor[] = [];
/** Distributor ids a test started, killed after it whatever happened. */
const spawned: { d: LocalProcessDistributor; id: string }[] = [];

beforeAll(() => {
  wrapper = buildWrapper();
});
afterAll(() => wrapper?.remove());

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-dist-test-'));
  api = new FakeWrapperApi();
  await api.listen();
});

afterEach(async () => {
  // Nothing a test started may outlive it. terminate() = SIGTERM to each wrapper, which passes it on
  // to its command and exits; SIGKILL of the wrapper alone would orphan the command (it runs in its
  // own process group), so that is only the last resort after a bounded wait.
  const jobs = spawned.splice(0);
  for (const { d, id } of jobs) await d.terminate([id]);
  const records = jobs.map(({ d, id }) => d.records.read(id));
  const gone = async (): Promise<boolean> => records.every((r) => !r?.pid || !isProcessAlive(r.pid, r.startTime));
  await waitFor(gone, { timeoutMs: 15_000, what: 'test wrappers to exit after SIGTERM' }).catch(
    async (err: unknown) => {
      for (const r of records) if (r?.pid && isProcessAlive(r.pid, r.startTime)) safeKill(-r.pid, 'SIGKILL');
      throw err;
    },
  );
  for (const d of distributors.splice(0)) await d.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

function local(
  slots: number,
  clusterType: 'sequential' | 'multiprocess' = 'multiprocess',
  terminateGraceMs?: number,
  pool = new LocalSlotPool(slots),
): LocalProcessDistributor {
  const d = new LocalProcessDistributor({
    clusterType,
    config: loadConfig({ logDir: path.join(dir, 'logs') }),
    apiUrl: api.url,
    pool,
    wrapper: wrapper.command,
    terminateGraceMs,
  });
  distributors.push(d);
  return d;
}

/** Script `n` instances running `command` and submit them as one batch. */
async function submit(
  d: LocalProcessDistributor,
  commands: string[],
  extra: Partial<SubmitRequest> = {},
): Promise<{ tis: number[]; ids: string[] }> {
  const tis = commands.map((command) => {
    const ti = nextTi++;
    api.scripts.set(ti, {
      command,
      stdoutPath: path.join(dir, 'out', `${ti}.o`),
      stderrPath: path.join(dir, 'out', `${ti}.e`),
      heartbeatIntervalS: 0.5,
    });
    return ti;
  });
  const result = await d.submit({
    batchId: tis[0],
    workflowId: 1,
    workflowRunId: 1,
    clusterName: d.clusterType,
    jobName: `test-${tis[0]}`,
    resources: { queue: 'null.q' },
    instances: tis.map((taskInstanceId, i) => ({
      taskInstanceId,
      arrayStepId: i + 1,
      taskName: `task-${taskInstanceId}`,
    })),
    ...extra,
  });
  expect(result.errors).toBeUndefined();
  const ids = tis.map((ti) => result.distributorIds.get(ti)!);
  for (const id of ids) spawned.push({ d, id });
  return { tis, ids };
}

const allEnded = (tis: number[]) => async () => tis.every((ti) => api.endOf(ti) !== undefined);

/** Most instances that were between their running report and their final report at once. */
function maxOverlap(tis: number[]): number {
  const events: [number, number][] = [];
  for (const ti of tis) {
    const start = api.callsOf(ti, 'running')[0] as RecordedCall;
    const end = api.endOf(ti) as RecordedCall;
    events.push([start.at, +1], [end.at, -1]);
  }
  // Ends before starts at the same millisecond: touching intervals do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of events) max = Math.max(max, (now += delta));
  return max;
}

describe('local distributors', () => {
  it('multiprocess never runs more than `parallelism` wrappers at once', async () => {
    const d = local(2);
    const { tis, ids } = await submit(
      d,
      Array.from({ length: 6 }, () => 'sleep 0.4'),
    );
    expect(ids.every((id) => id.startsWith(`local:${os.hostname()}:`))).toBe(true);
    await waitFor(allEnded(tis), { timeoutMs: 30_000, what: 'all six instances to report' });
    expect(tis.map((ti) => api.endOf(ti)!.kind)).toEqual(Array(6).fill('done'));
    // Each wrapper reported the distributor id that submit returned.
    expect(tis.map((ti) => api.callsOf(ti, 'running')[0].body.distributor_id)).toEqual(ids);
    expect(maxOverlap(tis)).toBe(2);
  });

  it('sequential runs one at a time, in submission order', async () => {
    const d = local(1, 'sequential');
    const { tis } = await submit(d, ['sleep 0.2', 'sleep 0.2', 'sleep 0.2']);
    await waitFor(allEnded(tis), { timeoutMs: 30_000, what: 'three instances to report' });
    expect(maxOverlap(tis)).toBe(1);
    const starts = tis.map((ti) => api.callsOf(ti, 'running')[0].at);
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
  });

  it("honours a batch's concurrency limit below the pool's slots", async () => {
    const d = local(3);
    const { tis } = await submit(d, ['sleep 0.2', 'sleep 0.2', 'sleep 0.2'], { concurrencyLimit: 1 });
    await waitFor(allEnded(tis), { timeoutMs: 30_000, what: 'three instances to report' });
    expect(maxOverlap(tis)).toBe(1);
  });

  it('liveJobs reports running jobs as live and finished ones as not', async () => {
    const d = local(2);
    const { tis, ids } = await submit(d, ['sleep 30', 'true']);
    await waitFor(async () => api.endOf(tis[1]) && api.callsOf(tis[0], 'running').length > 0, {
      timeoutMs: 15_000,
      what: 'one to finish, one to run',
    });
    // The finished wrapper exits just after its report.
    await waitFor(async () => !(await d.liveJobs(ids)).has(ids[1]), {
      timeoutMs: 10_000,
      what: 'the finished wrapper to exit',
    });
    expect([...(await d.liveJobs(ids))]).toEqual([ids[0]]);
    const info = await d.remoteExitInfo(ids[1]);
    expect(info).toMatchObject({ status: 'U', exitCode: 0 });
    expect(info.message).toMatch(/exited with code 0 without a final report/);
  });

  it('terminate stops a running wrapper (which reports) and withdraws a queued one', async () => {
    const d = local(1, 'multiprocess', 5_000);
    const { tis, ids } = await submit(d, ['sleep 30', 'sleep 30']);
    await waitFor(async () => api.callsOf(tis[0], 'running').length > 0, {
      timeoutMs: 15_000,
      what: 'the first to run',
    });
    expect(await d.liveJobs(ids)).toEqual(new Set(ids)); // second one queued: live too
    await d.terminate(ids);
    await waitFor(async () => (await d.liveJobs(ids)).size === 0, { timeoutMs: 15_000, what: 'both jobs to be gone' });
    // The wrapper passed SIGTERM to its command and reported the outcome.
    expect(api.endOf(tis[0])!.body).toMatchObject({ error_state: 'E', exit_code: 143 });
    expect(api.endOf(tis[0])!.body.message).toMatch(/received SIGTERM/);
    // The queued one was never started.
    expect(api.callsOf(tis[1])).toEqual([]);
    expect((await d.remoteExitInfo(ids[1])).message).toMatch(/never started/);
  });

  it('a restarted worker still sees, counts and can kill a wrapper started by the dead one', async () => {
    const ti = nextTi++;
    api.scripts.set(ti, {
      command: 'sleep 30',
      stdoutPath: path.join(dir, 'out', `${ti}.o`),
      stderrPath: path.join(dir, 'out', `${ti}.e`),
      heartbeatIntervalS: 0.5,
    });
    const logDir = path.join(dir, 'logs');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(projectRoot(), 'test', 'fixtures', 'local-distributor-worker.ts'),
        logDir,
        api.url,
        wrapper.command[1],
        String(ti),
      ],
      { cwd: projectRoot(), timeout: 30_000 },
    );
    // The "worker" process has exited by now; its wrapper has not.
    const { id, pid } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { id: string; pid: number };
    const pool = new LocalSlotPool(1);
    const d = local(1, 'multiprocess', 5_000, pool);
    spawned.push({ d, id });
    await waitFor(async () => api.callsOf(ti, 'running').length > 0, {
      timeoutMs: 15_000,
      what: 'the orphaned wrapper to report running',
    });
    expect(api.callsOf(ti, 'running')[0].body).toMatchObject({ distributor_id: id, process_id: pid });

    expect(await d.liveJobs([id])).toEqual(new Set([id]));
    // Adopted: it holds this machine's only slot, so a new submission waits for it.
    const { tis: later } = await submit(d, ['true']);
    expect({ occupied: pool.occupied, queued: pool.queued }).toEqual({ occupied: 1, queued: 1 });

    await d.terminate([id]);
    await waitFor(async () => (await d.liveJobs([id])).size === 0, {
      timeoutMs: 15_000,
      what: 'the old wrapper to be gone',
    });
    expect(api.endOf(ti)!.body).toMatchObject({ error_state: 'E' });
    // Nobody saw it exit, so the record only knows it is gone.
    expect(await d.remoteExitInfo(id)).toMatchObject({
      status: 'U',
      message: expect.stringMatching(new RegExp(`wrapper process ${pid} on .* is gone without a final report`)),
    });
    // Its slot is free again: the waiting instance runs.
    await waitFor(async () => api.endOf(later[0]), {
      timeoutMs: 15_000,
      what: 'the waiting instance to run once the slot is free',
    });
  });

  it('close() drops queued jobs and leaves running ones alone', async () => {
    const d = local(1);
    const { tis, ids } = await submit(d, ['sleep 1', 'true']);
    await waitFor(async () => api.callsOf(tis[0], 'running').length > 0, {
      timeoutMs: 15_000,
      what: 'the first to run',
    });
    await d.close();
    await waitFor(allEnded([tis[0]]), { timeoutMs: 15_000, what: 'the running one to finish' });
    expect(api.endOf(tis[0])!.kind).toBe('done');
    expect(api.callsOf(tis[1])).toEqual([]);
    expect(await d.liveJobs([ids[1]])).toEqual(new Set());
    const again = await d.submit({
      batchId: 99,
      workflowId: 1,
      workflowRunId: 1,
      clusterName: 'm',
      jobName: 'j',
      resources: { queue: 'null.q' },
      instances: [{ taskInstanceId: 999, arrayStepId: 1, taskName: 't' }],
    });
    expect(again.errors?.get(999)).toMatch(/closed/);
  });

  it('reports a job id it knows nothing about as never started', async () => {
    const d = local(1);
    expect(await d.liveJobs([`local:${os.hostname()}:12345:abcdef`])).toEqual(new Set());
    expect(await d.remoteExitInfo(`local:${os.hostname()}:12345:abcdef`)).toMatchObject({
      status: 'U',
      message: expect.stringMatching(/never started/),
    });
  });
});

describe('createDistributor', () => {
  const ctx = () => ({
    owners: { ofWorkflow: async () => undefined, ofArray: async () => undefined },
    completeInstances: async () => 0,
    config: loadConfig({ logDir: path.join(dir, 'logs') }),
    apiUrl: api.url,
  });

  it('builds local distributors (from the built wrapper in dist/) and refuses unknown types', async () => {
    // Needs `npx tsc -p .` (scripts/setup.sh builds dist/ before the tests).
    const m = createDistributor('multiprocess', { ...ctx(), connectionParameters: { parallelism: 3 } });
    const s = createDistributor('sequential', ctx());
    expect(m).toBeInstanceOf(LocalProcessDistributor);
    expect([m.clusterType, s.clusterType]).toEqual(['multiprocess', 'sequential']);
    await m.close();
    await s.close();
    expect(createDistributor('dummy', ctx())).toBeInstanceOf(DummyDistributor);
    expect(() => createDistributor('pbs', ctx())).toThrow(
      /no distributor for cluster type "pbs" \(known: dummy, sequential, multiprocess/,
    );
  });

  it('takes multiprocess parallelism from the environment, then connection_parameters, then the CPU count', () => {
    expect(multiprocessParallelism({ parallelism: 3 }, { JMT_MULTIPROCESS_PARALLELISM: '5' })).toBe(5);
    expect(multiprocessParallelism({ parallelism: 3 }, {})).toBe(3);
    expect(multiprocessParallelism({ parallelism: '4' }, {})).toBe(4);
    expect(multiprocessParallelism(undefined, {})).toBe(os.availableParallelism());
    expect(() => multiprocessParallelism({ parallelism: 0 }, {})).toThrow(/parallelism must be a whole number/);
  });
});

describe('dummy distributor', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('completes a batch without running anything and releases downstream tasks', async () => {
    const bound = await bindAll(t.db, 'tester', {
      tool: { name: 'dummy-test' },
      workflow: {
        workflow_args: 'dummy-1',
        default_cluster_name: 'dummy',
        default_compute_resources: { queue: 'null.q' },
      },
      task_templates: [{ name: 'step', command_template: 'exit 1 # never run {i}', node_args: ['i'] }],
      tasks: [
        { key: 'a', template: 'step', node_args: { i: 1 } },
        { key: 'b', template: 'step', node_args: { i: 2 } },
        { key: 'c', template: 'step', node_args: { i: 3 }, upstream: ['a', 'b'] },
      ],
    });
    const runId = await createRun(t.db, bound.workflowId, {
      user: 'tester',
      resumeMode: 'cold',
      temporalWorkflowId: 'wf-dummy-1',
    });
    await markRunStarted(t.db, runId);
    const { newBatchIds } = await scheduleReadyTasks(t.db, { workflowRunId: runId, maxBatches: 10 });
    expect(newBatchIds).toHaveLength(1);
    const batch = (await loadBatch(t.db, newBatchIds[0]))!;
    expect(batch.toSubmit).toHaveLength(2);

    const d = createDistributor('dummy', {
      owners: workflowOwners(t.db),
      completeInstances: (ids) => completeInstancesBulk(t.db, ids),
      config: loadConfig(),
      apiUrl: 'http://127.0.0.1:1',
    });
    const result = await d.submit({
      batchId: batch.id,
      workflowId: batch.workflowId,
      workflowRunId: batch.workflowRunId,
      clusterName: batch.clusterName,
      jobName: 'step-1',
      resources: batch.resources,
      instances: batch.toSubmit,
    });
    expect(result.errors).toBeUndefined();
    expect([...result.distributorIds.values()].sort()).toEqual(
      batch.toSubmit.map((i) => `dummy-${i.taskInstanceId}`).sort(),
    );
    const tasks = await t.db
      .selectFrom('task')
      .select(['name', 'status', 'upstream_remaining'])
      .where('workflow_id', '=', bound.workflowId)
      .orderBy('id')
      .execute();
    expect(tasks.map((r) => [r.status, Number(r.upstream_remaining)])).toEqual([
      ['D', 0],
      ['D', 0],
      ['G', 0],
    ]);
    const instances = await t.db.selectFrom('task_instance').select(['status', 'exit_code']).execute();
    expect(instances.map((i) => [i.status, i.exit_code])).toEqual([
      ['D', 0],
      ['D', 0],
    ]);
    expect(await d.liveJobs(['dummy-1'])).toEqual(new Set());
    expect((await d.remoteExitInfo('dummy-1')).status).toBe('D');
  });

  it("finds a workflow's owner, and an array's workflow and owner anywhere in a chunked batch's id list", async () => {
    const owners = workflowOwners(t.db);
    const wf = await t.db.selectFrom('workflow').select(['id', 'user']).executeTakeFirstOrThrow();
    expect(await owners.ofWorkflow(Number(wf.id))).toBe('tester');
    expect(await owners.ofWorkflow(999_999)).toBeUndefined();
    await t.db.updateTable('task_batch').set({ distributor_array_id: '71,72,73' }).execute();
    for (const id of ['71', '72', '73'])
      expect(await owners.ofArray(id)).toEqual({ workflowId: Number(wf.id), user: 'tester' });
    // '7' is a prefix of every id in the list, not one of them.
    expect(await owners.ofArray('7')).toBeUndefined();
  });
});
