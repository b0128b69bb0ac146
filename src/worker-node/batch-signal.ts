/**
 * What a termination signal to the wrapper means, as the batch system's entry script declared it in
 * the environment (the wrapper itself stays cluster-agnostic):
 *
 * - `JMT_TIME_LIMIT_AT` (Unix seconds): from then on a SIGTERM is the time limit, a resource error
 *   (Z: the retry gets more runtime). Slurm's entry script sets it a few seconds before the job's
 *   limit, because slurmctld's time-limit sweep sends SIGTERM at the limit or up to 30 s later.
 * - `JMT_SIGNAL_ERROR_STATE` (`E`, `U` or `F`): what a signal before that time is. Slurm's entry sets
 *   F: a job cancelled from outside the workflow (scancel) is reported and not retried behind the
 *   operator's back. Unset (local distributors): E, an ordinary retryable error.
 * - `JMT_SIGNAL_BANNER_FILE`: the job's stderr file, where the batch system writes why it ends a job
 *   before it signals it. Slurm's slurmstepd writes `*** JOB 228 ON vm CANCELLED AT <time> DUE TO JOB
 *   REQUEUE ***` (also TIME LIMIT, PREEMPTION, NODE FAILURE) before the SIGTERM, and a bare `…
 *   CANCELLED AT <time> ***` for a cancel. Slurm's own reasons outrank the two above: a job Slurm
 *   requeued or preempted was not cancelled by anyone and is retried (U).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export interface SignalVerdict {
  state: 'E' | 'U' | 'F' | 'Z';
  reason: string;
}

const TIME_LIMIT: SignalVerdict = { state: 'Z', reason: 'the job reached its time limit (resource error: runtime)' };

export function batchSignalVerdict(
  env: NodeJS.ProcessEnv,
  nowMs = Date.now(),
  banners = '',
): SignalVerdict | undefined {
  const fromBanner = bannerVerdict(banners, env.SLURM_JOB_ID);
  if (fromBanner) return fromBanner;
  const limitAt = Number(env.JMT_TIME_LIMIT_AT);
  if (Number.isFinite(limitAt) && limitAt > 0 && nowMs / 1000 >= limitAt) {
    return TIME_LIMIT;
  }
  const state = env.JMT_SIGNAL_ERROR_STATE;
  if (state === 'E' || state === 'U' || state === 'F') {
    return {
      state,
      reason: env.JMT_SIGNAL_ERROR_REASON || 'the job was signalled by its batch system before its time limit',
    };
  }
  return undefined;
}

const BANNER = /\*\*\* JOB (\d+) ON \S+ CANCELLED AT \S+(?: DUE TO ([A-Z ]+?))?(?:,[^*]*)? \*\*\*/g;

/** The last Slurm banner about this job in `text`, as a verdict; undefined for a bare cancel or none. */
export function bannerVerdict(text: string, jobId?: string): SignalVerdict | undefined {
  let due: string | undefined | null = null;
  for (const m of text.matchAll(BANNER)) if (jobId === undefined || m[1] === jobId) due = m[2];
  if (due === null || due === undefined) return undefined;
  if (due === 'TIME LIMIT') return TIME_LIMIT;
  if (due === 'JOB REQUEUE' || due === 'PREEMPTION' || due.startsWith('NODE'))
    return { state: 'U', reason: `Slurm ended the job (${due.toLowerCase()}), not an operator: retried` };
  return undefined;
}

/** Most bytes of the banner file read at the end: banners are the last lines slurmstepd writes. */
const BANNER_TAIL_BYTES = 16_384;

/**
 * What the batch system appended to the job's stderr file (JMT_SIGNAL_BANNER_FILE) since `start()`:
 * only this run's banners count when a requeued job appends to the file of an earlier run.
 */
export class BannerWatch {
  private constructor(
    private readonly file: string | undefined,
    private readonly offset: number,
  ) {}

  static start(env: NodeJS.ProcessEnv): BannerWatch {
    const file = env.JMT_SIGNAL_BANNER_FILE || undefined;
    const size = file === undefined ? 0 : (statSync(file, { throwIfNoEntry: false })?.size ?? 0);
    return new BannerWatch(file, size);
  }

  /** The text appended since start (its last BANNER_TAIL_BYTES); '' when there is no file to read. */
  read(): string {
    if (this.file === undefined) return '';
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'r');
      const size = fstatSync(fd).size;
      const from = Math.max(this.offset, size - BANNER_TAIL_BYTES);
      const buf = Buffer.alloc(Math.max(0, size - from));
      const n = buf.length > 0 ? readSync(fd, buf, 0, buf.length, from) : 0;
      return buf.subarray(0, n).toString('utf8');
    } catch {
      // A pipe, /dev/null or a vanished file: no banner, the environment's verdict stands.
      return '';
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
