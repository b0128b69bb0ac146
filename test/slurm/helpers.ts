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
import type { Db } from '../../src/sql/db';
import { parseSlurmTimestamp } from '../../src/distributors/slurm/job-record';
import { waitFor } from '../helpers/wait';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
export const REST_URL = process.env.JMT_SLURM_REST_URL ?? 'http://127.0.0.1:6820';
export const JOB_USER = process.env.JMT_SLURM_JOB_USER ?? 'jmtuser';

export interface SlurmHandle {
  ok: boolean;
  /** Why the Slurm tests are skipped, when !ok. */
  reason?: string;
  startedHere: boolean;
  /** How long bring-up took when this file did it. */
  upSeconds?: number;
}

async function answering(): Promise<boolean> {
  try {
    const { stdout } = await exec('sinfo', ['-h', '-o', '%t'], { timeout: 10_000 });
    if (!/idle|mix|alloc/.test(stdout)) return false;
    const token = await mintToken(60);
    const res = await fetch(`${REST_URL}/slurm/v0.0.38/ping`, {
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

export async function ensureSlurm(): Promise<SlurmHandle> {
  await acquireSlurmLock();
  if (await answering()) return { ok: true, startedHere: false };
  if (process.getuid?.() !== 0) {
    return {
      ok: false,
      startedHere: false,
      reason:
        'not root: the Slurm tests need root (to start Slurm, mint tokens for the job user and kill its jobs); run them as root, e.g. in CI',
    };
  }
  const t0 = Date.now();
  try {
    await exec('bash', [path.join(ROOT, 'scripts', 'slurm-up.sh')], { timeout: 300_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return {
      ok: false,
      startedHere: true,
      reason: `scripts/slurm-up.sh failed: ${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`,
    };
  }
  const ok = await answering();
  return {
    ok,
    startedHere: true,
    upSeconds: (Date.now() - t0) / 1000,
    reason: ok ? undefined : 'Slurm came up but does not answer',
  };
}

export async function stopSlurm(handle: SlurmHandle | undefined): Promise<void> {
  try {
    if (handle?.startedHere) await exec('bash', [path.join(ROOT, 'scripts', 'slurm-down.sh')], { timeout: 60_000 });
  } finally {
    releaseSlurmLock();
  }
}

export async function mintToken(lifespanS = 600): Promise<string> {
  const { stdout } = await exec('scontrol', ['token', `username=${JOB_USER}`, `lifespan=${lifespanS}`], {
    timeout: 10_000,
  });
  return stdout.trim().replace(/^SLURM_JWT=/, '');
}

export interface RestJob {
  job_id: number;
  array_job_id: number;
  array_task_id: number | null;
  array_max_tasks: number;
  job_state: string;
  partition: string;
  time_limit: number;
  memory_per_node: number;
  user_name: string;
}

/** Every record of an array job, through slurmrestd. */
export async function restJobs(arrayJobId: string): Promise<RestJob[]> {
  const res = await fetch(`${REST_URL}/slurm/v0.0.38/job/${arrayJobId}`, {
    headers: { 'X-SLURM-USER-NAME': JOB_USER, 'X-SLURM-USER-TOKEN': await mintToken() },
  });
  const body = (await res.json()) as { jobs?: RestJob[] };
  return body.jobs ?? [];
}

export function scontrolJob(id: string): string {
  return execFileSync('scontrol', ['show', 'job', '-o', id], { encoding: 'utf8' });
}

/** Node's RealMemory in MB (what the cluster can hand out). */
export function nodeMemoryMb(): number {
  return Number(execFileSync('sinfo', ['-h', '-N', '-o', '%m'], { encoding: 'utf8' }).trim().split('\n')[0]);
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

/** Where scripts/slurm-up.sh keeps its state, and slurmd's pid file in it (its SlurmdPidFile). */
const STATE = process.env.JMT_SLURM_STATE ?? '/var/lib/jmt-slurm';
const SLURMD_PID_FILE = path.join(STATE, 'run', 'slurmd.pid');
const CONF_MARK = '# managed by jobmon-temporal scripts/slurm-up.sh';

const comm = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/**
 * Why slurmd may not be killed here, or undefined when it may: only the one-node Slurm of
 * scripts/slurm-up.sh (its slurm.conf mark, its pid file), as root — never a real cluster's slurmd.
 */
export function whyNoGremlins(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  let conf = '';
  try {
    conf = readFileSync('/etc/slurm/slurm.conf', 'utf8');
  } catch {
    return 'no /etc/slurm/slurm.conf';
  }
  if (!conf.includes(CONF_MARK)) return 'slurm.conf is not the one scripts/slurm-up.sh writes (a real cluster?)';
  if (slurmdPid() === undefined) return `no running slurmd recorded in ${SLURMD_PID_FILE}`;
  return undefined;
}

/** slurmd's pid from its pid file, if that process is alive and is slurmd. */
export function slurmdPid(): number | undefined {
  if (!existsSync(SLURMD_PID_FILE)) return undefined;
  const pid = Number(readFileSync(SLURMD_PID_FILE, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && comm(pid) === 'slurmd' ? pid : undefined;
}

/** Base state of the node (idle, mixed, allocated, down, drained, ...; `*` = not responding). */
export function nodeState(): string {
  return execFileSync('sinfo', ['-h', '-N', '-o', '%T'], { encoding: 'utf8' }).trim().split('\n')[0];
}

export function nodeName(): string {
  return execFileSync('sinfo', ['-h', '-N', '-o', '%N'], { encoding: 'utf8' }).trim().split('\n')[0];
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
 * Start slurmd exactly as scripts/slurm-up.sh does (`/usr/sbin/slurmd`: daemonizes, writes its pid
 * file, registers with slurmctld), then wait until it is up and the node answers again. A no-op
 * when slurmd is already running.
 */
export async function startSlurmd(): Promise<number> {
  const before = slurmdPid();
  if (before !== undefined) return before;
  const startedS = Math.floor(Date.now() / 1000);
  await exec('/usr/sbin/slurmd', [], { timeout: 30_000 });
  const pid = await waitFor(async () => slurmdPid(), { timeoutMs: 15_000, intervalMs: 100, what: 'slurmd to start' });
  // Registered: slurmctld shows the new slurmd's start time (the node's state alone would not tell,
  // slurmctld may not have noticed the old one was gone).
  await waitFor(async () => (slurmdStartTime() ?? 0) >= startedS - 1 && !nodeState().endsWith('*'), {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: 'the restarted slurmd to register with slurmctld',
  });
  return pid;
}

/** The node's SlurmdStartTime as slurmctld has it, Unix seconds. */
export function slurmdStartTime(): number | undefined {
  const out = execFileSync('scontrol', ['show', 'node', '-o', nodeName()], { encoding: 'utf8' });
  return parseSlurmTimestamp(/SlurmdStartTime=(\S+)/.exec(out)?.[1]);
}

/**
 * Leave the node usable: slurmd running, and a node Slurm set DOWN or DRAIN (a node failure it
 * noticed) resumed. Runs in the gremlin tests' `finally`, so it must not need the test to have passed.
 */
export async function healNode(): Promise<void> {
  await startSlurmd();
  if (/down|drain|fail/i.test(nodeState())) {
    execFileSync('scontrol', ['update', `NodeName=${nodeName()}`, 'State=RESUME']);
  }
}
