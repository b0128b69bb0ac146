/**
 * The worker-node wrapper, compiled on its own and run as a real process against a fake API that
 * records its callbacks: what it reports, what it runs, and how it behaves when killed, told to
 * kill, or cut off from the API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPORT_BATCH_MAX } from '../src/contract/schemas';
import { DEFAULT_RETRY_POLICY } from '../src/worker-node/api-client';
import {
  REPORT_BATCH_BYTES,
  REPORT_BATCH_MAX as EXECUTOR_BATCH_MAX,
  ReportBatcher,
} from '../src/worker-node/report-batcher';
import { FakeWrapperApi, type InstanceScript } from './helpers/fake-wrapper-api';
import { freePort } from './helpers/ports';
import { waitFor } from './helpers/wait';
import { buildWrapper, type BuiltWrapper } from './helpers/wrapper-build';

let wrapper: BuiltWrapper;
let api: FakeWrapperApi;
let dir: string;
const started: { child: ChildProcess; exited: Promise<unknown> }[] = [];
/** Process groups of commands a test started (their leader's pid, from a pid file). */
const commandGroups: string[] = [];

beforeAll(() => {
  wrapper = buildWrapper();
});
afterAll(() => wrapper?.remove());

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-wn-test-'));
  api = new FakeWrapperApi();
  await api.listen();
});

afterEach(async () => {
  // Nothing a test started may outlive it: wrappers first, then any command group left behind.
  for (const { child } of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pidFile of commandGroups.splice(0)) {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN;
    if (pid > 0) killGroup(pid, 'SIGKILL');
  }
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

const groupAlive = (pid: number): boolean => killGroup(pid, 0 as unknown as NodeJS.Signals);

function script(id: number, command: string, extra: Partial<InstanceScript> = {}): InstanceScript {
  const s: InstanceScript = {
    command,
    stdoutPath: path.join(dir, 'logs', 'out', `task-${id}.o`),
    stderrPath: path.join(dir, 'logs', 'err', `task-${id}.e`),
    ...extra,
  };
  api.scripts.set(id, s);
  return s;
}

/** A pid file the command writes its own pid ($$, its group leader) into; cleaned up after. */
function pidFile(name: string): string {
  const file = path.join(dir, `${name}.pid`);
  commandGroups.push(file);
  return file;
}

interface Run {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startWrapper(id: number, opts: { apiUrl?: string; env?: NodeJS.ProcessEnv; args?: string[] } = {}): Run {
  const child = spawn(
    wrapper.command[0],
    [wrapper.command[1], '--task-instance-id', String(id), '--api-url', opts.apiUrl ?? api.url, ...(opts.args ?? [])],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, JMT_TOKEN: 'secret-token', ...opts.env },
    },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  started.push({ child, exited });
  return { child, exited, stderr: () => stderr };
}

/** Await the wrapper's exit, bounded. */
async function exitOf(run: Run, timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`wrapper did not exit within ${timeoutMs} ms; stderr:\n${run.stderr()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

it('the executor never sends a batch larger than the API takes (the worker node imports no contract)', () => {
  expect(EXECUTOR_BATCH_MAX).toBe(REPORT_BATCH_MAX);
});

it('splits queued reports into requests of at most REPORT_BATCH_BYTES, each answered as its own route', async () => {
  const fake = new FakeWrapperApi();
  await fake.listen();
  try {
    const batcher = new ReportBatcher(() => undefined, DEFAULT_RETRY_POLICY);
    const ids = Array.from({ length: 11 }, (_, i) => 900 + i);
    for (const id of ids) fake.scripts.set(id, { command: 'true', stdoutPath: '/dev/null', stderrPath: '/dev/null' });
    // Control characters are escaped as \u0001: 6 bytes each, the worst case of an output tail.
    const tail = '\u0001'.repeat(10_000);
    fake.holdBatches = true;
    const first = batcher.senderFor(
      fake.url,
      't',
      ids[0],
    )('running', { distributor_id: 'x', nodename: 'n', process_id: 1 });
    await waitFor(async () => fake.batches.length === 1, { timeoutMs: 5_000, what: 'the first request' });
    const rest = ids
      .slice(1)
      .map((id) =>
        batcher.senderFor(fake.url, 't', id)('done', { exit_code: 0, stdout_tail: tail, stderr_tail: tail }),
      );
    fake.releaseBatches();
    const answers = await Promise.all([first, ...rest]);
    expect(answers.map((a) => a.status)).toEqual(Array(11).fill(200));
    expect(answers.slice(1).map((a) => a.body)).toEqual(Array(10).fill({ status: 'D' }));
    // 10 reports of ~120 kB: never more than 512 KiB (4 of them) per request.
    expect(fake.batches[0]).toBe(1);
    expect(fake.batches.slice(1).reduce((a, b) => a + b, 0)).toBe(10);
    expect(Math.max(...fake.batches.slice(1))).toBe(Math.floor(REPORT_BATCH_BYTES / 120_000));
    expect(fake.calls.every((c) => c.authorization === 'Bearer t')).toBe(true);
    batcher.close();
  } finally {
    await fake.close();
  }
});

describe('worker-node wrapper', () => {
  it('reports running, heartbeats and done; writes output files and sends their tails', async () => {
    const s = script(
      1,
      'echo "out-line"; echo "err-line" >&2; echo "ids $JMT_TASK_INSTANCE_ID $JOBMON_TASK_ID $JMT_WORKFLOW_ID $JOBMON_WORKFLOW_RUN_ID token=${JMT_TOKEN:-none}"; ' +
        // Busy long enough for heartbeats and usage samples, in a child of the shell.
        "node -e 'const a = Buffer.alloc(64 * 1024 * 1024, 1); const t = Date.now(); while (Date.now() - t < 1200) {} console.log(a.length)'",
    );
    writeFileSync(path.join(dir, 'prev.txt'), '');
    const run = startWrapper(1);
    expect(await exitOf(run)).toEqual({ code: 0, signal: null });

    const [running] = api.callsOf(1, 'running');
    expect(running.body).toMatchObject({
      distributor_id: String(run.child.pid),
      nodename: os.hostname(),
      process_id: run.child.pid,
    });
    expect(running.authorization).toBe('Bearer secret-token');
    expect(api.callsOf(1, 'heartbeat').length).toBeGreaterThanOrEqual(2);
    expect(api.callsOf(1, 'error')).toHaveLength(0);
    const done = api.endOf(1)!;
    expect(done.kind).toBe('done');
    expect(done.body).toMatchObject({ exit_code: 0, nodename: os.hostname() });
    expect(done.body.stdout_tail).toContain('out-line');
    // Both naming schemes of the ids; the API token is not passed on to the command.
    expect(done.body.stdout_tail).toContain('ids 1 1001 7 70 token=none');
    expect(done.body.stdout_tail).toContain(String(64 * 1024 * 1024));
    expect(done.body.stderr_tail).toBe('err-line\n');
    expect(done.body.wallclock_s).toBeGreaterThanOrEqual(1.2);
    // The node child allocated and touched 64 MiB; the sampled tree RSS must have seen it.
    expect(done.body.maxrss_bytes).toBeGreaterThan(64 * 1024 * 1024);
    // CPU, not wallclock: on a shared 2-core VM the busy loop gets only part of a core.
    expect(done.body.cpu_s).toBeGreaterThan(0.2);
    expect(done.body.cpu_s).toBeLessThanOrEqual((done.body.wallclock_s as number) * os.availableParallelism() + 0.5);
    // No heartbeat after the final report.
    expect(api.calls.at(-1)!.kind).toBe('done');

    expect(readFileSync(s.stdoutPath, 'utf8')).toContain('out-line\nids 1');
    expect(readFileSync(s.stderrPath, 'utf8')).toBe('err-line\n');
  });

  it('appends to existing output files and uses --distributor-id when given', async () => {
    const s = script(2, 'echo second');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(s.stdoutPath), { recursive: true });
    writeFileSync(s.stdoutPath, 'first\n');
    const run = startWrapper(2, { args: ['--distributor-id', 'local:h:2:abc'] });
    expect((await exitOf(run)).code).toBe(0);
    expect(readFileSync(s.stdoutPath, 'utf8')).toBe('first\nsecond\n');
    expect(api.callsOf(2, 'running')[0].body.distributor_id).toBe('local:h:2:abc');
    expect(api.endOf(2)!.body.stdout_tail).toBe('second\n');
  });

  it('reports a non-zero exit as error E with the exit code and the end of stderr', async () => {
    script(3, 'echo "something broke" >&2; exit 3');
    const run = startWrapper(3);
    expect((await exitOf(run)).code).toBe(0); // reported: the wrapper did its job
    const end = api.endOf(3)!;
    expect(end.kind).toBe('error');
    expect(end.body).toMatchObject({ exit_code: 3, error_state: 'E' });
    expect(end.body.message).toContain('exit code 3');
    expect(end.body.message).toContain('something broke');
  });

  it('reports a command that does not exist as an error', async () => {
    script(4, 'definitely-not-a-command-jmt --flag');
    const run = startWrapper(4);
    expect((await exitOf(run)).code).toBe(0);
    const end = api.endOf(4)!;
    expect(end.body).toMatchObject({ exit_code: 127, error_state: 'E' });
    expect(end.body.message).toMatch(/command not found/);
  });

  it('reports U when the command cannot be started (its output file cannot be created)', async () => {
    // A directory cannot be created below a regular file.
    writeFileSync(path.join(dir, 'a-file'), '');
    script(5, 'echo never', { stdoutPath: path.join(dir, 'a-file', 'sub', 'out.o') });
    const run = startWrapper(5);
    expect((await exitOf(run)).code).toBe(0);
    const end = api.endOf(5)!;
    expect(end.body).toMatchObject({ exit_code: null, error_state: 'U' });
    expect(end.body.message).toMatch(/could not start the command/);
  });

  it('exits 0 without running the command when the running report is answered 409', async () => {
    const marker = path.join(dir, 'ran');
    script(6, `touch ${marker}`, { notRunnable: true });
    const run = startWrapper(6);
    expect(await exitOf(run)).toEqual({ code: 0, signal: null });
    expect(existsSync(marker)).toBe(false);
    expect(api.calls.map((c) => c.kind)).toEqual(['running']);
    expect(run.stderr()).toMatch(/not running the command: not_runnable/);
  });

  it('kills the command and reports F when a heartbeat is answered K', async () => {
    const pids = pidFile('k');
    script(7, `echo $$ > ${pids}; sleep 30 & wait`, { heartbeatIntervalS: 0.2 });
    const run = startWrapper(7);
    await waitFor(async () => existsSync(pids) && readFileSync(pids, 'utf8').trim() !== '', {
      timeoutMs: 10_000,
      what: 'the command to start',
    });
    api.scripts.get(7)!.heartbeatStatus = 'K';
    expect((await exitOf(run)).code).toBe(0);
    const end = api.endOf(7)!;
    expect(end.body).toMatchObject({ error_state: 'F' });
    expect(end.body.message).toMatch(/killed by operator/);
    // The whole group went, the backgrounded sleep included (bounded wait: an orphan is reaped
    // by init, not by us, and may linger for a moment as a zombie member of the group).
    await waitFor(async () => !groupAlive(Number(readFileSync(pids, 'utf8'))), {
      timeoutMs: 5_000,
      what: 'the command group to be gone',
    });
  });

  it('passes SIGTERM on to the command and reports how it ended', async () => {
    const pids = pidFile('term');
    const s = script(8, `trap 'echo got-term >&2; exit 143' TERM; echo $$ > ${pids}; echo ready; sleep 30 & wait`, {
      heartbeatIntervalS: 5,
    });
    const run = startWrapper(8);
    // "ready" in the output file: the trap is installed.
    await waitFor(async () => existsSync(s.stdoutPath) && readFileSync(s.stdoutPath, 'utf8').includes('ready'), {
      timeoutMs: 10_000,
      what: 'the command to be ready',
    });
    run.child.kill('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const end = api.endOf(8)!;
    expect(end.body).toMatchObject({ error_state: 'E', exit_code: 143 });
    expect(end.body.message).toMatch(/received SIGTERM/);
    expect(end.body.stderr_tail).toContain('got-term');
    await waitFor(async () => !groupAlive(Number(readFileSync(pids, 'utf8'))), {
      timeoutMs: 5_000,
      what: 'the command group to be gone',
    });
  });

  it('names the signal when the command is killed by one', async () => {
    script(9, 'kill -KILL $$');
    const run = startWrapper(9);
    expect((await exitOf(run)).code).toBe(0);
    expect(api.endOf(9)!.body).toMatchObject({ error_state: 'E', exit_code: 137 });
    expect(api.endOf(9)!.body.message).toMatch(/killed by SIGKILL/);
  });

  it("judges a command killed by the batch system's signal as declared, even before the wrapper hears it", async () => {
    // Slurm signals the whole step: the command may die of the limit's SIGTERM first.
    script(13, 'kill -TERM $$');
    const past = String(Math.floor(Date.now() / 1000) - 5);
    let run = startWrapper(13, { env: { JMT_TIME_LIMIT_AT: past, JMT_SIGNAL_ERROR_STATE: 'F' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(api.endOf(13)!.body).toMatchObject({ error_state: 'Z' });
    expect(api.endOf(13)!.body.message).toMatch(/time limit/);
    // Before the limit, a SIGTERM is what the batch system declared (Slurm: F, an outside cancel)...
    const future = String(Math.floor(Date.now() / 1000) + 600);
    script(14, 'kill -TERM $$');
    run = startWrapper(14, { env: { JMT_TIME_LIMIT_AT: future, JMT_SIGNAL_ERROR_STATE: 'F' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(api.endOf(14)!.body).toMatchObject({ error_state: 'F' });
    // ...and without a declaration (local distributors) an ordinary error; a SIGKILL before the
    // limit is never taken for a cancel (it is the memory limit's kill).
    script(15, 'kill -TERM $$');
    run = startWrapper(15, { env: { JMT_TIME_LIMIT_AT: future } });
    expect((await exitOf(run)).code).toBe(0);
    expect(api.endOf(15)!.body).toMatchObject({ error_state: 'E' });
    script(16, 'kill -KILL $$');
    run = startWrapper(16, { env: { JMT_TIME_LIMIT_AT: future, JMT_SIGNAL_ERROR_STATE: 'F' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(api.endOf(16)!.body).toMatchObject({ error_state: 'E' });
  });

  it('rides out an API outage: retries until the API is back, then reports', async () => {
    const port = await freePort();
    await api.close(); // nothing listens on `port` yet: connection refused
    script(10, 'echo hello');
    const run = startWrapper(10, { apiUrl: `http://127.0.0.1:${port}` });
    await waitFor(async () => (run.stderr().match(/attempt \d+ failed/g) ?? []).length >= 2, {
      timeoutMs: 15_000,
      what: 'two failed attempts',
    });
    // Back, but the first two done reports get a 503 (an API restarting behind a proxy).
    api.failNext.set('done', 2);
    await api.listen(port);
    expect((await exitOf(run, 40_000)).code).toBe(0);
    expect(api.endOf(10)).toMatchObject({ kind: 'done', body: { exit_code: 0, stdout_tail: 'hello\n' } });
    expect(run.stderr()).toMatch(/POST \/task-instances\/10\/done attempt 2 failed \(HTTP 503/);
  });

  it('gives up after its retry budget when the API never answers, with exit code 199', async () => {
    const port = await freePort();
    script(11, 'echo never');
    const t0 = Date.now();
    const run = startWrapper(11, {
      apiUrl: `http://127.0.0.1:${port}`,
      env: { JMT_WRAPPER_HTTP_RETRY_TIMEOUT_S: '2' },
    });
    expect((await exitOf(run)).code).toBe(199);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(run.stderr()).toMatch(/failed after \d+ attempt/);
  });

  it('makes no report when the wrapper itself is SIGKILLed (lost-job detection is the monitor’s job)', async () => {
    // What happens to the command: it is in its own process group, so it is not killed with the
    // wrapper. Its stdout/stderr pipes lose their reader, so its next write kills it with SIGPIPE;
    // a command that never writes runs on until it ends. Either way the API hears nothing, and the
    // batch monitor finds the instance silent and asks the distributor (liveJobs/remoteExitInfo).
    const pids = pidFile('sigkill');
    const s = script(12, `echo $$ > ${pids}; echo started; sleep 1; echo after-wrapper-death; sleep 30`, {
      heartbeatIntervalS: 5,
    });
    const run = startWrapper(12);
    await waitFor(async () => existsSync(s.stdoutPath) && readFileSync(s.stdoutPath, 'utf8').includes('started'), {
      timeoutMs: 10_000,
      what: 'the command to start',
    });
    const leader = Number(readFileSync(pids, 'utf8'));
    run.child.kill('SIGKILL');
    expect((await exitOf(run)).signal).toBe('SIGKILL');
    // The command dies of SIGPIPE at its next echo: its group disappears (the shell leader, and the
    // trailing sleep is never started).
    await waitFor(async () => !groupAlive(leader), {
      timeoutMs: 10_000,
      what: 'the orphaned command to die of SIGPIPE',
    });
    expect(api.endOf(12)).toBeUndefined();
    expect(readFileSync(s.stdoutPath, 'utf8')).not.toContain('after-wrapper-death');
  });

  it('rejects a bad command line with exit code 2', async () => {
    const child = spawn(wrapper.command[0], [wrapper.command[1], '--task-instance-id', 'x'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const run: Run = {
      child,
      exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
      stderr: () => '',
    };
    started.push(run);
    expect((await exitOf(run)).code).toBe(2);
  });
});
