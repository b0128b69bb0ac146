/**
 * One Slurm job (or array task) as both backends report it, and the reading of its state.
 * Distributor ids of array tasks are `<array job id>_<array task id>` (Slurm's own `%A_%a`).
 */

export interface SlurmJobRecord {
  /** `<array>_<task>` for array tasks, else the plain job id. */
  key: string;
  jobId: string;
  arrayJobId?: string;
  arrayTaskId?: number;
  /** JOB_STATE base name: PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ... */
  state: string;
  reason: string;
  /** Exit code and terminating signal of the batch script (REST's raw wait status decoded). */
  exitCode?: number;
  signal?: number;
  /** Slurm's output file of this job, expanded, when known. */
  stdoutPath?: string;
  /** Slurm's error file of this job when it is not the output file (`stderr` set separately). */
  stderrPath?: string;
  /** stdoutPath is a guess from the work dir (sacct without StdOut, the jobcomp log), not Slurm's own. */
  outputFromWorkDir?: boolean;
  workDir?: string;
  user?: string;
  /** ArrayTaskThrottle of the array (0 = none). */
  throttle?: number;
  partition?: string;
  timeLimitMin?: number;
  memoryMb?: number;
  /** Node running the batch script (where the wrapper runs), once the job started. */
  batchHost?: string;
  /** When the job started running, Unix seconds (slurmctld's clock). */
  startTime?: number;
  /** Nodes the job ran on (Slurm's node list). */
  nodes?: string;
  /** Accounting (slurmdbd): run time in seconds and the largest step's MaxRSS in MB. */
  elapsedS?: number;
  maxRssMb?: number;
  /** The record comes from slurmdbd, not slurmctld (the job left slurmctld after MinJobAge). */
  fromAccounting?: boolean;
}

/** States after which the job's processes are gone for good (no requeue: JobRequeue=0, requeue=false). */
export const FINAL_STATES = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
]);

export const isLive = (record: SlurmJobRecord): boolean => !FINAL_STATES.has(record.state);

/**
 * Pending reasons (as scontrol prints them, lower-cased) after which Slurm will not start the job
 * unless someone intervenes, and nobody meant it to wait: a batch launch that failed (slurmd refused
 * it, e.g. a job id slurmctld handed out twice after losing its state) requeues the job held. Plain
 * holds (JobHeldUser, JobHeldAdmin without a description) are deliberate and left alone.
 */
const NEVER_STARTS = new Set([
  'launch_failed_requeued_held',
  'jobholdmaxrequeue',
  'joblaunchfailure',
  'badconstraints',
  'dependencyneversatisfied',
]);

/** The job waits for something that will not happen by itself (see NEVER_STARTS). */
export const isStuckPending = (record: SlurmJobRecord): boolean =>
  record.state === 'PENDING' && NEVER_STARTS.has(record.reason.toLowerCase());

/** scontrol's local timestamp (`2026-11-25T18:29:48`) → Unix seconds; `Unknown`, `None`, '' → undefined. */
export function parseSlurmTimestamp(value: string | undefined): number | undefined {
  if (!value || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(value)) return undefined;
  // ISO date-time without an offset is local time, as scontrol prints it.
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

export function parseDistributorId(id: string): { arrayJobId: string; taskId?: number } {
  const m = /^(\d+)(?:_(\d+))?$/.exec(id);
  if (!m) throw new Error(`"${id}" is not a Slurm job id`);
  return { arrayJobId: m[1], taskId: m[2] === undefined ? undefined : Number(m[2]) };
}

/** REST v0.0.38 gives the raw wait status: exit code in the high byte, signal in the low 7 bits. */
export function decodeWaitStatus(raw: number | undefined | null): { exitCode?: number; signal?: number } {
  if (typeof raw !== 'number') return {};
  return { exitCode: (raw >> 8) & 0xff, signal: raw & 0x7f };
}

/** `3-7,9,12-14%2` (array_task_string of a not yet split pending array) → task ids. */
export function expandTaskString(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (let i = from; i <= to; i += step) out.push(i);
  }
  return out;
}

/** Expand a Slurm output pattern (%A %a %j %x %u %%) for one record. */
export function expandOutputPattern(
  pattern: string,
  r: { jobId: string; arrayJobId?: string; arrayTaskId?: number; name?: string; user?: string },
): string {
  return pattern.replace(/%(%|A|a|j|x|u)/g, (_, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'A':
        return r.arrayJobId ?? r.jobId;
      case 'a':
        return r.arrayTaskId === undefined ? '4294967294' : String(r.arrayTaskId);
      case 'j':
        return r.jobId;
      case 'x':
        return r.name ?? '';
      default:
        return r.user ?? '';
    }
  });
}
