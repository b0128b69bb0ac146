/**
 * What the Slurm distributor needs from Slurm, with two implementations: slurmrestd (REST, JWT) and
 * the command-line tools (sbatch, scontrol, scancel). Selected by connection_parameters.mode.
 */
import type { SlurmJobRecord } from './job-record';
import type { SlurmMode } from './settings';

/** One job array: indexes 1..size, each running `script` with SLURM_ARRAY_TASK_ID = its index. */
export interface ArraySubmission {
  /** The account the array runs as: the workflow owner's (identity.ts), never the worker's. */
  user: string;
  name: string;
  partition: string;
  /** Bash entry script (starts with `#!/bin/bash`). */
  script: string;
  /** Absolute working directory; Slurm's own output goes to `<workDir>/%A_%a.out` by default. */
  workDir: string;
  /**
   * Where Slurm writes the entry script's own stdout / stderr (absolute, with `%A`/`%a`), when the
   * task's `stdout` / `stderr` log directories are set (Jobmon's plugin writes there); undefined =
   * `<workDir>/%A_%a.out`. `errorPath` undefined = the same file as the output.
   */
  outputPath?: string;
  errorPath?: string;
  size: number;
  /** Most array tasks running at once (`%N`); undefined = no throttle. */
  throttle?: number;
  memoryMb?: number;
  timeLimitMin?: number;
  cpusPerTask?: number;
  account?: string;
  qos?: string;
  constraints?: string;
  /** The job's whole environment (REST sends exactly this; sbatch gets it with --export=ALL). */
  env: Record<string, string>;
}

export const OUTPUT_PATTERN = '%A_%a.out';

export interface PartitionInfo {
  name: string;
  maxTimeMin?: number;
  maxMemoryMb?: number;
  totalCpus?: number;
  maxCpusPerNode?: number;
}

/** The job id is unknown to slurmctld (never existed, or purged after MinJobAge). */
export const UNKNOWN_JOB = 'unknown-job' as const;

/**
 * `asUser`: the account a call acts as — the owner of the jobs concerned (REST: whose JWT is sent;
 * CLI: whom a non-root worker switches to for scancel). REST calls without one are refused: they
 * never fall back to some other identity.
 */
export interface SlurmBackend {
  readonly mode: SlurmMode;
  /** Submit as `submission.user`; resolves to the array job id. Throws with Slurm's message when refused. */
  submitArray(submission: ArraySubmission): Promise<string>;
  /** Every task of the array slurmctld still holds; throws when Slurm could not be asked. */
  arrayJobs(arrayJobId: string, asUser?: string): Promise<SlurmJobRecord[] | typeof UNKNOWN_JOB>;
  /** Cancel jobs or array tasks (`<array>_<task>`); unknown or finished ids are ignored. */
  cancel(ids: string[], asUser?: string): Promise<void>;
  /** Change ArrayTaskThrottle of a queued array (0 = no limit), as the array's owner where that matters. */
  setThrottle(arrayJobId: string, limit: number, asUser?: string): Promise<void>;
  /**
   * What the accounting database (slurmdbd) recorded about a job or array task slurmctld no longer
   * holds; undefined when there is no accounting or it does not know the job. Optional: backends
   * without accounting leave it out (the jobcomp log is read instead).
   */
  accountingRecord?(id: string, asUser?: string): Promise<SlurmJobRecord | undefined>;
  partition(name: string, asUser?: string): Promise<PartitionInfo | undefined>;
  /** When the node's slurmd last started (Unix seconds); undefined when Slurm does not say. */
  slurmdStartTime(node: string, asUser?: string): Promise<number | undefined>;
}
