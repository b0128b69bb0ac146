/**
 * The real one-node Slurm for the Slurm tests: brought up with scripts/slurm-up.sh when it is not
 * running (root only) and stopped again by whoever started it; plus small probes of its state.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, type TestContext } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import type { Db } from '../../src/sql/db';
import { parseSlurmTimestamp, type SlurmJobRecord } from '../../src/distributors/slurm/job-record';
import { recordsOf38, recordsOf4x } from '../../src/distributors/slurm/rest-backend';
import type { RestJob38, RestJob4x } from '../../src/distributors/slurm/rest-schema';
import { waitFor } from '../helpers/wait';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
/** Where scripts/slurm-up*.sh keep their state. */
const STATE = process.env.JMT_SLURM_STATE ?? '/var/lib/jmt-slurm';

/**
 * The release a test file runs on: 24.11 (the trixie root: two nodes, slurmdbd, cgroups, REST
 * v0.0.40-42) unless the file (or JMT_SLURM_TEST_RELEASE) asks for the host's 22.05 (one node,
 * REST v0.0.38, the CLI fallback).
 */
export type SlurmRelease = '24.11' | '22.05';
export const DEFAULT_RELEASE: SlurmRelease = process.env.JMT_SLURM_TEST_RELEASE === '22.05' ? '22.05' : '24.11';
let release: SlurmRelease = DEFAULT_RELEASE;
export const currentRelease = (): SlurmRelease => release;

/** How each release is laid out on this machine (scripts/slurm-up-<release>.sh). */
const LAYOUT = {
  '24.11': {
    root: path.join(STATE, '24.11', 'root'),
    bin: (name: string) => path.join(STATE, '24.11', 'bin', name),
    rest: 'http://127.0.0.1:6820',
    restVersion: 'v0.0.42',
    conf: path.join(STATE, '24.11', 'root', 'etc', 'slurm', 'slurm.conf'),
    confMark: '# managed by jobmon-temporal scripts/slurm-up-24.11.sh',
    slurmdPidFile: (node: string) => path.join(STATE, '24.11', 'root', 'run', 'slurm', `slurmd-${node}.pid`),
    startSlurmd: (node: string): [string, string[]] => [
      '/usr/sbin/chroot',
      [path.join(STATE, '24.11', 'root'), '/usr/sbin/slurmd', '-N', node],
    ],
  },
  '22.05': {
    root: '/',
    bin: (name: string) => name,
    rest: 'http://127.0.0.1:6838',
    restVersion: 'v0.0.38',
    conf: '/etc/slurm/slurm.conf',
    confMark: '# managed by jobmon-temporal scripts/slurm-up.sh',
    slurmdPidFile: () => path.join(STATE, 'run', 'slurmd.pid'),
    startSlurmd: (): [string, string[]] => ['/usr/sbin/slurmd', []],
  },
} as const;
const layout = () => LAYOUT[release];
/** A Slurm command of the release under test (24.11's run in its root through chroot). */
export const slurmBin = (name: string): string => layout().bin(name);
export const restUrl = (): string => layout().rest;
export const restVersion = (): string => layout().restVersion;
export const JOB_USER = process.env.JMT_SLURM_JOB_USER ?? 'jmtuser';
/** @deprecated use restUrl(): the URL depends on the release under test. */
export const REST_URL = LAYOUT[DEFAULT_RELEASE].rest;

/** What slurm-up wrote for clients (JMT_SLURM_BIN, _REST_URL, _SLURMD_LOG, ...): into this process. */
function loadReleaseEnv(): Record<string, string> {
  const file = path.join(STATE, release, 'env');
  const vars: Record<string, string> = {};
  if (!existsSync(file)) return vars;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(JMT_SLURM_[A-Z_]+)="?(.*?)"?$/.exec(line.trim());
    if (m) vars[m[1]] = m[2];
  }
  Object.assign(process.env, vars);
  return vars;
}

export interface SlurmHandle {
  ok: boolean;
  /** Why the Slurm tests are skipped, when !ok. */
  reason?: string;
  startedHere: boolean;
  /** How long bring-up took when this file did it. */
  upSeconds?: number;
  release: SlurmRelease;
  /** Slurm's own version string (e.g. 24.11.5), from its env file. */
  version?: string;
}

async function answering(): Promise<boolean> {
  try {
    const { stdout } = await exec(slurmBin('sinfo'), ['-h', '-o', '%t'], { timeout: 10_000 });
    if (!/idle|mix|alloc/.test(stdout)) return false;
    const token = await mintToken(60);
    const res = await fetch(`${restUrl()}/slurm/${restVersion()}/ping`, {
      headers: { 'X-SLURM-USER-NAME': JOB_USER, 'X-SLURM-USER-TOKEN': token },
      signal: AbortSignal.timeout(5_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Slurm test files hold the one-node cluster exclusively, one file at a time: some tests kill
 * slurmd on purpose, and a file that started Slurm stops it at its end — either would break jobs of
 * another file running in parallel (vitest runs files in parallel forks). A directory is the lock
 * (mkdir is atomic); a lock whose owner process is gone is taken over.
 */
const SLURM_LOCK = path.join(os.tmpdir(), 'jmt-slurm-tests.lock');
// Within the files' beforeAll bound (620 s): the longest Slurm file takes ~150-250 s.
const SLURM_LOCK_WAIT_MS = 450_000;

async function acquireSlurmLock(): Promise<void> {
  const deadline = Date.now() + SLURM_LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(SLURM_LOCK);
      writeFileSync(path.join(SLURM_LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(path.join(SLURM_LOCK, 'pid'), 'utf8'));
    } catch {
      /* the owner is between mkdir and writing its pid */
    }
    if (Number.isInteger(owner) && owner > 0 && !processAlive(owner))
      rmSync(SLURM_LOCK, { recursive: true, force: true });
    if (Date.now() > deadline)
      throw new Error(`another Slurm test file held ${SLURM_LOCK} for ${SLURM_LOCK_WAIT_MS / 60_000} min`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function releaseSlurmLock(): void {
  try {
    if (Number(readFileSync(path.join(SLURM_LOCK, 'pid'), 'utf8')) === process.pid)
      rmSync(SLURM_LOCK, { recursive: true, force: true });
  } catch {
    /* not held */
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The cluster of `wanted` up and answering: brought up with scripts/slurm-up.sh when it is not
 * (root only). In CI as root a cluster that cannot be brought up is an error, not a skip.
 */
export async function ensureSlurm(wanted: SlurmRelease = DEFAULT_RELEASE): Promise<SlurmHandle> {
  release = wanted;
  await acquireSlurmLock();
  const done = (h: Omit<SlurmHandle, 'release' | 'version'>): SlurmHandle => {
    const version = h.ok ? loadReleaseEnv().JMT_SLURM_RELEASE : undefined;
    if (h.ok) console.log(`Slurm tests of this file run on Slurm ${version ?? wanted} (${wanted} layout)`);
    if (!h.ok && process.getuid?.() === 0 && process.env.CI === 'true') {
      releaseSlurmLock();
      throw new Error(`Slurm ${wanted} could not be brought up in CI: ${h.reason}`);
    }
    return { ...h, release: wanted, version };
  };
  if (await answering()) return done({ ok: true, startedHere: false });
  if (process.getuid?.() !== 0) {
    return done({
      ok: false,
      startedHere: false,
      reason:
        'not root: the Slurm tests need root (to start Slurm, mint tokens for the job user and kill its jobs); run them as root, e.g. in CI',
    });
  }
  const t0 = Date.now();
  try {
    await exec('bash', [path.join(ROOT, 'scripts', 'slurm-up.sh')], {
      timeout: 600_000,
      env: { ...process.env, SLURM_RELEASE: wanted },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return done({
      ok: false,
      startedHere: true,
      reason: `scripts/slurm-up.sh (SLURM_RELEASE=${wanted}) failed: ${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`,
    });
  }
  const ok = await answering();
  return done({
    ok,
    startedHere: true,
    upSeconds: (Date.now() - t0) / 1000,
    reason: ok ? undefined : 'Slurm came up but does not answer',
  });
}

export async function stopSlurm(handle: SlurmHandle | undefined): Promise<void> {
  try {
    if (handle?.startedHere)
      await exec('bash', [path.join(ROOT, 'scripts', 'slurm-down.sh')], {
        timeout: 120_000,
        env: { ...process.env, SLURM_RELEASE: handle.release },
      });
  } finally {
    releaseSlurmLock();
  }
}

export interface SlurmStackOptions {
  release?: SlurmRelease;
  /** Why this file cannot run on the cluster it got (e.g. it needs slurmdbd), or undefined. */
  unsupported?: (handle: SlurmHandle) => string | undefined;
  /** Run once the cluster and the stack are up (accounts, extra clusters, partitions). */
  setUp?: (stack: TestStack, handle: SlurmHandle) => Promise<void>;
  /** Run before the stack closes. */
  tearDown?: (stack: TestStack) => Promise<void>;
}

export interface SlurmStackUse {
  /** The file's test stack (API, worker, Temporal, its own database); only after need(ctx). */
  readonly stack: TestStack;
  readonly slurm: SlurmHandle | undefined;
  /** Skip the test when the cluster is not available here (in CI as root ensureSlurm throws instead). */
  need(ctx: TestContext): void;
}

/**
 * The set-up every Slurm test file shares: the cluster of the file's release up (ensureSlurm, with
 * the file lock), a test stack whose home the job account can enter (jobs run as JOB_USER, who
 * must reach the wrapper's log directory), the file's own set-up, and all of it stopped at the end
 * (Slurm only when this file brought it up).
 */
export function useSlurmStack(opts: SlurmStackOptions = {}): SlurmStackUse {
  const state: { slurm?: SlurmHandle; stack?: TestStack } = {};
  beforeAll(async () => {
    state.slurm = await ensureSlurm(opts.release);
    if (!state.slurm.ok) return console.warn(`SKIPPING the Slurm tests: ${state.slurm.reason}`);
    const unsupported = opts.unsupported?.(state.slurm);
    if (unsupported) return console.warn(`SKIPPING: ${unsupported}`);
    state.stack = await startTestStack();
    chmodSync(state.stack.config.home, 0o755);
    await opts.setUp?.(state.stack, state.slurm);
  }, 620_000);
  afterAll(async () => {
    try {
      if (state.stack) await opts.tearDown?.(state.stack);
      await state.stack?.close();
    } finally {
      await stopSlurm(state.slurm);
    }
  }, 120_000);
  return {
    get stack(): TestStack {
      if (!state.stack) throw new Error('no Slurm test stack: call need(ctx) first');
      return state.stack;
    },
    get slurm() {
      return state.slurm;
    },
    need(ctx: TestContext): void {
      if (!state.stack) ctx.skip();
    },
  };
}

export async function mintToken(lifespanS = 600): Promise<string> {
  const { stdout } = await exec(slurmBin('scontrol'), ['token', `username=${JOB_USER}`, `lifespan=${lifespanS}`], {
    timeout: 10_000,
  });
  return stdout.trim().replace(/^SLURM_JWT=/, '');
}

/** Every record of an array job, through slurmrestd, read as the distributor reads it. */
export async function restJobs(arrayJobId: string): Promise<SlurmJobRecord[]> {
  const res = await fetch(`${restUrl()}/slurm/${restVersion()}/job/${arrayJobId}`, {
    headers: { 'X-SLURM-USER-NAME': JOB_USER, 'X-SLURM-USER-TOKEN': await mintToken() },
  });
  const body = (await res.json()) as { jobs?: unknown[] };
  return (body.jobs ?? []).flatMap((j) =>
    release === '22.05' ? recordsOf38(j as RestJob38) : recordsOf4x(j as RestJob4x),
  );
}

export function scontrolJob(id: string): string {
  return execFileSync(slurmBin('scontrol'), ['show', 'job', '-o', id], { encoding: 'utf8' });
}

/** A node's RealMemory in MB (what the cluster can hand out per node). */
export function nodeMemoryMb(): number {
  return Number(execFileSync(slurmBin('sinfo'), ['-h', '-N', '-o', '%m'], { encoding: 'utf8' }).trim().split('\n')[0]);
}

/** A scratch dir the job user may write (jobs run as JOB_USER, not as the test's root). */
export function sharedScratch(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o1777);
  return dir;
}

/** Add a cluster row of type slurm with its own connection parameters and the partitions as queues. */
export async function addSlurmCluster(db: Db, name: string, params: Record<string, unknown>): Promise<void> {
  await sql`
    insert into cluster (name, cluster_type, connection_parameters) values (${name}, 'slurm', ${JSON.stringify(params)}::jsonb);
  `.execute(db);
  await sql`
    insert into queue (cluster_id, name, parameters)
    select c.id, q.name, q.parameters from queue q join cluster s on s.id = q.cluster_id and s.name = 'slurm', cluster c
     where c.name = ${name}`.execute(db);
}

export interface InstanceRow {
  id: number;
  task_id: number;
  status: string;
  distributor_id: string | null;
  process_id: number | null;
  stdout_tail: string | null;
  stdout_path: string | null;
  submitted_date: Date | null;
  started_date: Date | null;
  status_date: Date;
  queue: string;
  requested_resources: Record<string, unknown>;
  errors: string[];
}

/** Instances of a workflow with the resources their batch asked for and their error messages. */
export async function instanceRows(db: Db, workflowId: number): Promise<InstanceRow[]> {
  const rows = await sql<InstanceRow>`
    select ti.id, ti.task_id, ti.status, ti.distributor_id, ti.process_id, ti.stdout_tail, ti.stdout_path,
           ti.submitted_date, ti.started_date, ti.status_date, r.queue, r.requested_resources,
           coalesce((select array_agg(e.description order by e.id) from task_instance_error_log e where e.task_instance_id = ti.id), '{}') as errors
      from task_instance ti
      join task_batch b on b.id = ti.batch_id
      join task_resources r on r.id = b.task_resources_id
     where ti.workflow_id = ${workflowId}
     order by ti.id`.execute(db);
  return rows.rows;
}

const comm = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/**
 * Why slurmd may not be killed here, or undefined when it may: only a cluster of scripts/slurm-up*.sh
 * (its slurm.conf mark, its pid file), as root — never a real cluster's slurmd.
 */
export function whyNoGremlins(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  let conf = '';
  try {
    conf = readFileSync(layout().conf, 'utf8');
  } catch {
    return `no ${layout().conf}`;
  }
  if (!conf.includes(layout().confMark))
    return 'slurm.conf is not the one scripts/slurm-up*.sh writes (a real cluster?)';
  if (slurmdPid() === undefined) return `no running slurmd recorded in ${layout().slurmdPidFile(nodeName())}`;
  return undefined;
}

/** A node's slurmd pid from its pid file, if that process is alive and is slurmd. */
export function slurmdPid(node = nodeName()): number | undefined {
  const file = layout().slurmdPidFile(node);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && comm(pid) === 'slurmd' ? pid : undefined;
}

/** Names of the cluster's nodes (n1, n2 on 24.11; the host's name on 22.05). */
export function nodeNames(): string[] {
  const out = execFileSync(slurmBin('sinfo'), ['-h', '-N', '-o', '%N'], { encoding: 'utf8' });
  return [...new Set(out.trim().split('\n'))].sort();
}

/** Base state of a node (idle, mixed, allocated, down, drained, ...; `*` = not responding). */
export function nodeState(node = nodeName()): string {
  return execFileSync(slurmBin('sinfo'), ['-h', '-N', '-n', node, '-o', '%T'], { encoding: 'utf8' })
    .trim()
    .split('\n')[0];
}

/** The first node: where the one-job gremlin tests pin their jobs. */
export function nodeName(): string {
  return nodeNames()[0];
}

/** SIGKILL a process and wait (bounded) until it is gone. */
export async function killHard(pids: number[], what: string): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(async () => pids.every((pid) => comm(pid) === undefined), {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: `${what} (${pids.join(' ')}) to die`,
  });
}

/**
 * Start a node's slurmd exactly as scripts/slurm-up*.sh does (daemonizes, writes its pid file,
 * registers with slurmctld), then wait until it is up and the node answers again. A no-op when
 * that slurmd is already running.
 */
export async function startSlurmd(node = nodeName()): Promise<number> {
  const before = slurmdPid(node);
  if (before !== undefined) return before;
  const startedS = Math.floor(Date.now() / 1000);
  const [cmd, args] = layout().startSlurmd(node);
  await exec(cmd, args, { timeout: 30_000 });
  const pid = await waitFor(async () => slurmdPid(node), {
    timeoutMs: 15_000,
    intervalMs: 100,
    what: 'slurmd to start',
  });
  // Registered: slurmctld shows the new slurmd's start time (the node's state alone would not tell,
  // slurmctld may not have noticed the old one was gone).
  await waitFor(async () => (slurmdStartTime(node) ?? 0) >= startedS - 1 && !nodeState(node).endsWith('*'), {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: 'the restarted slurmd to register with slurmctld',
  });
  return pid;
}

/** The node's SlurmdStartTime as slurmctld has it, Unix seconds. */
export function slurmdStartTime(node = nodeName()): number | undefined {
  const out = execFileSync(slurmBin('scontrol'), ['show', 'node', '-o', node], { encoding: 'utf8' });
  return parseSlurmTimestamp(/SlurmdStartTime=(\S+)/.exec(out)?.[1]);
}

/**
 * Leave every node usable: its slurmd running, and a node Slurm set DOWN or DRAIN (a node failure
 * it noticed) resumed. Runs in the gremlin tests' `finally`, so it must not need the test to have passed.
 */
export async function healNode(): Promise<void> {
  for (const node of nodeNames()) {
    await startSlurmd(node);
    if (/down|drain|fail/i.test(nodeState(node))) {
      execFileSync(slurmBin('scontrol'), ['update', `NodeName=${node}`, 'State=RESUME']);
    }
  }
}
