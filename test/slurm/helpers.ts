/**
 * The real one-node Slurm for the Slurm tests: brought up with scripts/slurm-up.sh when it is not
 * running (root only) and stopped again by whoever started it; plus small probes of its state.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import type { Db } from '../../src/sql/db';

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

export async function ensureSlurm(): Promise<SlurmHandle> {
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
  if (handle?.startedHere) await exec('bash', [path.join(ROOT, 'scripts', 'slurm-down.sh')], { timeout: 60_000 });
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
