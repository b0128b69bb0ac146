/**
 * The local executor (src/worker-node/executor.ts) behind the sequential and multiprocess
 * distributors: one long-lived process runs many tasks, each still `bash -c` in a session of its
 * own, reporting to a fake API that timestamps every callback. Proven here: slots are honoured, a
 * restarted worker finds the running tasks (and can terminate them), a killed executor's tasks are
 * found lost and their commands killed, a new executor takes over, and per-task usage is counted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import type { SubmitRequest } from '../src/distributors/distributor';
import { LocalProcessDistributor, LocalSlotPool } from '../src/distributors';
import type { ExecutorInfo, ExecutorTaskState } from '../src/worker-node/executor';
import { isProcessAlive } from '../src/worker-node/proc';
import { readSnapshot } from '../src/worker-node/state-file';
import { FakeWrapperApi, type RecordedCall } from './helpers/fake-wrapper-api';
import { waitFor } from './helpers/wait';
import { buildWrapper, type BuiltWrapper } from './helpers/wrapper-build';

let wrapper: BuiltWrapper;
let api: FakeWrapperApi;
let dir: string;
let nextTi = 1;
const distributors: LocalProcessDistributor[] = [];

beforeAll(() => {
  wrapper = buildWrapper();
});
afterAll(() => wrapper?.remove());

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-exec-test-'));
  api = new FakeWrapperApi();
  await api.listen();
});

const recordsDir = () => path.join(dir, 'logs', 'local-distributor');
const executorInfo = (): ExecutorInfo | undefined => {
  try {
    return JSON.parse(readFileSync(path.join(recordsDir(), 'executor.json'), 'utf8')) as ExecutorInfo;
  } catch {
    return undefined;
  }
};
const stateOf = (d: LocalProcessDistributor, id: string): ExecutorTaskState | undefined =>
  readSnapshot<ExecutorTaskState>(d.records.statePath(id));

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

/** Executors and command groups a test started, stopped by pid after it. */
const executorPids = new Set<number>();
const commandPids = new Set<number>();

afterEach(async () => {
  for (const d of distributors.splice(0)) await d.close();
  const info = executorInfo();
  if (info) executorPids.add(info.pid);
  // SIGTERM: the executor passes it to every task, which reports, then it exits.
  for (const pid of executorPids) safeKill(pid, 'SIGTERM');
  await waitFor(async () => [...executorPids].every((pid) => !isProcessAlive(pid)), {
    timeoutMs: 20_000,
    what: 'the executors to exit after SIGTERM',
  }).catch((err: unknown) => {
    for (const pid of executorPids) safeKill(pid, 'SIGKILL');
    throw err;
  });
  for (const pid of commandPids) safeKill(-pid, 'SIGKILL');
  executorPids.clear();
  commandPids.clear();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function local(slots: number, pool = new LocalSlotPool(slots), terminateGraceMs = 5_000): LocalProcessDistributor {
  const d = new LocalProcessDistributor({
    clusterType: 'multiprocess',
    config: loadConfig({ logDir: path.join(dir, 'logs') }),
    apiUrl: api.url,
    pool,
    executor: wrapper.executorCommand,
    terminateGraceMs,
  });
  distributors.push(d);
  return d;
}

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
    clusterName: 'multiprocess',
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
  const info = executorInfo();
  if (info) executorPids.add(info.pid);
  return { tis, ids: tis.map((ti) => result.distributorIds.get(ti)!) };
}

const allEnded = (tis: number[]) => async () => tis.every((ti) => api.endOf(ti) !== undefined);

function maxOverlap(tis: number[]): number {
  const events: [number, number][] = [];
  for (const ti of tis) {
    events.push([(api.callsOf(ti, 'running')[0] as RecordedCall).at, +1], [(api.endOf(ti) as RecordedCall).at, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of events) max = Math.max(max, (now += delta));
  return max;
}

/** Wait for a task's command to run; returns its pid (its process group) from the state file. */
async function commandPid(d: LocalProcessDistributor, id: string, ti: number): Promise<number> {
  await waitFor(async () => api.callsOf(ti, 'running').length > 0 && stateOf(d, id)?.commandPid !== undefined, {
    timeoutMs: 15_000,
    what: `task ${ti} to run in the executor`,
  });
  const pid = stateOf(d, id)!.commandPid!;
  commandPids.add(pid);
  return pid;
}

describe('local executor', () => {
  it('runs every task in one long-lived process, never more than the slots at once', async () => {
    const d = local(2);
    const { tis, ids } = await submit(
      d,
      Array.from({ length: 6 }, () => 'sleep 0.4'),
    );
    await waitFor(allEnded(tis), { timeoutMs: 30_000, what: 'all six instances to report' });
    expect(tis.map((ti) => api.endOf(ti)!.kind)).toEqual(Array(6).fill('done'));
    expect(tis.map((ti) => api.callsOf(ti, 'running')[0].body.distributor_id)).toEqual(ids);
    expect(maxOverlap(tis)).toBe(2);
    // One executor ran them all: every running report names the same process.
    const pids = new Set(tis.map((ti) => api.callsOf(ti, 'running')[0].body.process_id));
    expect(pids).toEqual(new Set([executorInfo()!.pid]));
    await waitFor(async () => (await d.liveJobs(ids)).size === 0, { timeoutMs: 10_000, what: 'all to be over' });
  });

  it('sends many tasks’ reports in one request, and single reports to an API without the batch route', async () => {
    const d = local(4);
    // The first report's request is held: the other tasks' running reports queue behind it.
    api.holdBatches = true;
    const { tis, ids } = await submit(d, ['true', 'true', 'true', 'true']);
    await waitFor(async () => ids.every((id) => stateOf(d, id) !== undefined), {
      timeoutMs: 15_000,
      what: 'the executor to take all four tasks',
    });
    expect(api.batches).toEqual([1]);
    api.releaseBatches();
    await waitFor(allEnded(tis), { timeoutMs: 30_000, what: 'all four to report' });
    expect(api.batches[1]).toBe(3); // the three queued running reports, together
    expect(api.batches.reduce((a, b) => a + b, 0)).toBe(8);
    expect(tis.map((ti) => api.endOf(ti)!.kind)).toEqual(Array(4).fill('done'));
    // Each task's running report came before its final one, whatever request carried them.
    for (const ti of tis) expect(api.callsOf(ti).map((c) => c.kind)).toEqual(['running', 'done']);

    api.noBatchRoute = true;
    const more = await submit(d, ['true', 'exit 3']);
    await waitFor(allEnded(more.tis), { timeoutMs: 30_000, what: 'the two to report singly' });
    expect(more.tis.map((ti) => api.endOf(ti)!.kind)).toEqual(['done', 'error']);
    expect(api.batches.reduce((a, b) => a + b, 0)).toBe(8);
  });

  it('counts each task’s own CPU and memory, and passes the job token to the callbacks only', async () => {
    const d = local(2);
    const busy =
      "node -e 'const a = Buffer.alloc(64 * 1024 * 1024, 1); const t = Date.now(); while (Date.now() - t < 1200) {} console.log(a.length)'";
    const { tis } = await submit(d, [busy, 'echo token=${JMT_TOKEN:-none}'], { jobToken: 'job-token-1' });
    await waitFor(allEnded(tis), { timeoutMs: 30_000, what: 'both to report' });
    const [heavy, light] = tis.map((ti) => api.endOf(ti)!.body);
    expect(heavy.cpu_s).toBeGreaterThan(0.2);
    expect(heavy.maxrss_bytes).toBeGreaterThan(64 * 1024 * 1024);
    expect(light.stdout_tail).toBe('token=none\n');
    expect(api.callsOf(tis[1], 'running')[0].authorization).toBe('Bearer job-token-1');
  });

  it('a restarted worker finds the running task, counts it against its slots and can terminate it', async () => {
    const first = local(1);
    const { tis, ids } = await submit(first, ['sleep 30']);
    await commandPid(first, ids[0], tis[0]);
    await first.close(); // the worker goes; the executor and its task stay

    const pool = new LocalSlotPool(1);
    const second = local(1, pool);
    expect(await second.liveJobs(ids)).toEqual(new Set(ids));
    const { tis: later } = await submit(second, ['true']);
    expect({ occupied: pool.occupied, queued: pool.queued }).toEqual({ occupied: 1, queued: 1 });

    await second.terminate(ids);
    await waitFor(async () => api.endOf(tis[0]) !== undefined, {
      timeoutMs: 15_000,
      what: 'the terminated task to report',
    });
    expect(api.endOf(tis[0])!.body).toMatchObject({ error_state: 'E', exit_code: 143 });
    expect(api.endOf(tis[0])!.body.message).toMatch(/received SIGTERM/);
    await waitFor(async () => (await second.liveJobs(ids)).size === 0, { timeoutMs: 10_000, what: 'it to be over' });
    await waitFor(async () => api.endOf(later[0]) !== undefined, {
      timeoutMs: 15_000,
      what: 'the waiting task to run once the slot is free',
    });
  });

  it('a killed executor’s tasks are found lost, their commands killed, and a new executor runs the retry', async () => {
    const d = local(2);
    const { tis, ids } = await submit(d, ['sleep 30']);
    const pid = await commandPid(d, ids[0], tis[0]);
    const executor = executorInfo()!;
    safeKill(executor.pid, 'SIGKILL');
    await waitFor(async () => !isProcessAlive(executor.pid, executor.startTime), {
      timeoutMs: 10_000,
      what: 'the executor to die',
    });
    expect(await d.liveJobs(ids)).toEqual(new Set());
    // Nobody watches the command any more: it is killed so that the retry never runs beside it.
    await waitFor(async () => !isProcessAlive(pid), { timeoutMs: 10_000, what: 'the orphaned command to be killed' });
    expect((await d.remoteExitInfo(ids[0])).message).toMatch(
      /local executor \(pid \d+\) .* is gone without a final report/,
    );
    expect(api.endOf(tis[0])).toBeUndefined();

    // The retry (a new instance, as the batch monitor would submit) starts a new executor.
    const { tis: retry } = await submit(d, ['echo again']);
    await waitFor(allEnded(retry), { timeoutMs: 20_000, what: 'the retry to report' });
    expect(api.endOf(retry[0])!.kind).toBe('done');
    expect(executorInfo()!.pid).not.toBe(executor.pid);
  });

  it('withdraws a queued task and stops a running one on terminate; unknown ids were never started', async () => {
    const d = local(1);
    const { tis, ids } = await submit(d, ['sleep 30', 'sleep 30']);
    await commandPid(d, ids[0], tis[0]);
    expect(await d.liveJobs(ids)).toEqual(new Set(ids));
    await d.terminate(ids);
    await waitFor(async () => (await d.liveJobs(ids)).size === 0, { timeoutMs: 15_000, what: 'both to be gone' });
    expect(api.endOf(tis[0])!.body).toMatchObject({ error_state: 'E', exit_code: 143 });
    expect(api.callsOf(tis[1])).toEqual([]);
    expect((await d.remoteExitInfo(ids[1])).message).toMatch(/never started/);
    expect(await d.liveJobs([`local:${os.hostname()}:9999:abcdef`])).toEqual(new Set());
  });
});
